"""Filter chains: HTTP and MCP filters that rewrite or block requests."""
