"""Feed readers, validation (Great Expectations) and quarantine."""

from resilience.feeds.ingest import IngestResult, ingest_file, ingest_paths, quarantine_frame
from resilience.feeds.readers import FEED_KINDS, RawFeed, read_feed

__all__ = ["FEED_KINDS", "IngestResult", "RawFeed", "ingest_file", "ingest_paths", "quarantine_frame", "read_feed"]
