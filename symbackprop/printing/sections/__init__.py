"""The reference page's later sections, each printing one report it is given: 역전파의 효율성
(:mod:`.efficiency`), Gradient 소실/폭발 (:mod:`.flow`, with :mod:`.flow_products`) and
메모리 사용 (:mod:`.memory`).  Nothing here differentiates or counts."""
