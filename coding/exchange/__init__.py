"""REFI-QDA exchange (QDA-XML 1.0 as in REFI-QDA 1.5) with NVivo, MAXQDA, ATLAS.ti, QualCoder.

Plain functions over file objects, like coding.exports: ``export_qdpx`` / ``export_qdc`` write a
project or its codebook; ``read_exchange`` checks and reads an upload into an ``ExchangePlan``
(what would be created and what is left out, nothing written); writing a plan is a service
(``coding.services.exchange.import_plan``, all or nothing, with the job's body beside it).
"""

from coding.exchange.export import export_qdc, export_qdpx
from coding.exchange.plan import ExchangePlan
from coding.exchange.read import read_exchange

__all__ = ["ExchangePlan", "export_qdc", "export_qdpx", "read_exchange"]
