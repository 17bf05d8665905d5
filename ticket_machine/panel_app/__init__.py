"""The call panel (呼出操作盤) at each counter."""
