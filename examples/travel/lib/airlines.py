"""Airline names for the ICAO operator codes AeroAPI reports ("DAL" -> "Delta Air Lines")."""

from __future__ import annotations

__all__ = ["AIRLINES", "airline_name"]

AIRLINES: dict[str, str] = {
    "AAL": "American Airlines", "DAL": "Delta Air Lines", "UAL": "United Airlines",
    "SWA": "Southwest Airlines", "ASA": "Alaska Airlines", "JBU": "JetBlue",
    "NKS": "Spirit Airlines", "FFT": "Frontier Airlines", "HAL": "Hawaiian Airlines",
    "SKW": "SkyWest Airlines", "RPA": "Republic Airways", "ENY": "Envoy Air",
    "EDV": "Endeavor Air", "QXE": "Horizon Air", "JIA": "PSA Airlines", "AAY": "Allegiant Air",
    "SCX": "Sun Country Airlines", "BRE": "Breeze Airways", "ACA": "Air Canada",
    "WJA": "WestJet", "AMX": "Aeroméxico", "VOI": "Volaris", "BAW": "British Airways",
    "VIR": "Virgin Atlantic", "EZY": "easyJet", "RYR": "Ryanair", "AFR": "Air France",
    "KLM": "KLM", "DLH": "Lufthansa", "SWR": "Swiss", "AUA": "Austrian Airlines",
    "SAS": "SAS", "FIN": "Finnair", "IBE": "Iberia", "VLG": "Vueling", "TAP": "TAP Air Portugal",
    "ITY": "ITA Airways", "AEA": "Air Europa", "EIN": "Aer Lingus", "ICE": "Icelandair",
    "THY": "Turkish Airlines", "PGT": "Pegasus Airlines", "UAE": "Emirates",
    "QTR": "Qatar Airways", "ETD": "Etihad Airways", "SVA": "Saudia", "ELY": "El Al",
    "ETH": "Ethiopian Airlines", "KQA": "Kenya Airways", "SAA": "South African Airways",
    "RAM": "Royal Air Maroc", "MSR": "EgyptAir", "AIC": "Air India", "IGO": "IndiGo",
    "SIA": "Singapore Airlines", "CPA": "Cathay Pacific", "JAL": "Japan Airlines",
    "ANA": "All Nippon Airways", "KAL": "Korean Air", "AAR": "Asiana Airlines",
    "CCA": "Air China", "CES": "China Eastern", "CSN": "China Southern", "EVA": "EVA Air",
    "CAL": "China Airlines", "THA": "Thai Airways", "MAS": "Malaysia Airlines",
    "GIA": "Garuda Indonesia", "PAL": "Philippine Airlines", "VJC": "VietJet Air",
    "HVN": "Vietnam Airlines", "QFA": "Qantas", "VOZ": "Virgin Australia",
    "ANZ": "Air New Zealand", "LAN": "LATAM Airlines", "TAM": "LATAM Brasil",
    "AVA": "Avianca", "CMP": "Copa Airlines", "GLO": "Gol", "AZU": "Azul",
    "ARG": "Aerolíneas Argentinas", "FDX": "FedEx", "UPS": "UPS Airlines",
}  # fmt: skip


def airline_name(operator: str | None) -> str | None:
    """The airline's name for an ICAO operator code, or the code itself when unknown."""
    if operator is None:
        return None
    return AIRLINES.get(operator.upper(), operator)
