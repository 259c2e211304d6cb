"""agentledger: the unit economics of AI agents, computed nightly from traces, bills and CRM revenue."""

__version__ = "0.1.0"
