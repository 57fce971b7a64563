"""From a news report to candidate incidents in the native format, for an analyst to review.

The flow: :mod:`risk.news.reading` turns pasted text, a file or a fetched page
(:mod:`risk.news.fetch`) into a :class:`~risk.news.reading.NewsReport`;
:mod:`risk.news.extract` finds the incidents it describes, using the place names of
:mod:`risk.news.gazetteer`, the actors of :mod:`risk.news.actors` and the dates of
:mod:`risk.news.when`; :func:`risk.news.extract.native_csv` writes them in the native format
for the project's ordinary ingest.
"""
