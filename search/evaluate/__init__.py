"""Evaluation: NDCG@10, Recall@100 and MRR@10 of BM25, dense and hybrid retrieval, each with and
without reranking, on BEIR data sets (`python -m search.evaluate`) or on judgments made in the app.

`runner` evaluates a searcher on given judgments; `index` serves the app (an open index and its own
judgments, tuning); `beir` one BEIR data set; `report` the tables, files and chart.
"""
