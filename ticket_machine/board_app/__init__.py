"""The call board (呼出表示盤): latest calls, waiting per group, chime."""
