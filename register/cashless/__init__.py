"""Cashless payment terminal (決済端末): the UnifiedPOS CAT-style interface, a driver and a simulator."""
