"""Alerts: subscriptions, level schemes, broadcasts, cadence and deliveries."""
