"""Loading an organisation (users, groups, apps, pools, servers) from a folder of YAML files."""

from anyplace.importer.apply import LoadSummary, apply_dataset
from anyplace.importer.dataset import Dataset, read_dataset

__all__ = ["Dataset", "LoadSummary", "apply_dataset", "read_dataset"]
