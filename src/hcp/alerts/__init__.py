"""Alerts: rules over the bus's events raise one alert per cause, resolve it when the cause clears."""
