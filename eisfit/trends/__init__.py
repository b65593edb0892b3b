"""Trends over ageing or cycling time: growth laws, events and the time axis.

`analysis.analyse_trends` fits growth laws (`laws`) to every resistance and ASR series
of a run and finds events such as shorts and jumps (`events`); `timeaxis` turns
timestamps, cycle numbers or file order into one time axis.
"""
