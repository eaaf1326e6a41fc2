"""The quickstart: one SDK agent behind one agent listener, offline and keyless."""
