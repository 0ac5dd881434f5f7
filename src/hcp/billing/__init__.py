"""Billing: metering, rate cards, budgets, invoices, payments, revenue."""
