"""Economic optimizer: hashprice, profitability, the fleet plan, recommendations, backtests."""
