"""Data layer: find, parse and encode HIVDB genotype-phenotype data.

source file ──► :func:`read_table` ──► :class:`GenoPhenoTable` ──► :func:`build_dataset` ──►
:class:`Dataset`. :func:`load_dataset` does it all for a name (``nrti-1246``, ``nrti``, ``nnrti``,
``pi``, ``pi-full``) or a path (an HIVDB table or MTPS's ``HIV.rda``), :func:`load_design_matrix`
reads an X/Y CSV pair, and :func:`resolve_data` picks one of these from a command's options.
"""

from .cutoffs import DEFAULT_CUTOFFS, DRUG_CLASSES, Cutoffs
from .dataset import Dataset, load_cutoffs
from .describe import describe_dataset
from .design_matrix import load_design_matrix
from .encoding import build_dataset
from .hivdb_tables import GenoPhenoTable, read_table
from .mutations import feature_name, normalise_feature, parse_feature
from .nrti1246 import FEATURES as NRTI1246_FEATURES
from .nrti1246 import FROM_MTPS, TO_MTPS
from .rda import read_rda
from .registry import DATASETS, DatasetListing, list_datasets, load_dataset, resolve_data
from .sources import cache_dir, download_file, find_file, locate_file

__all__ = [
    "Cutoffs", "DEFAULT_CUTOFFS", "DRUG_CLASSES",
    "Dataset", "build_dataset", "feature_name", "parse_feature", "normalise_feature",
    "load_cutoffs",
    "DATASETS", "DatasetListing", "list_datasets", "load_dataset", "resolve_data",
    "describe_dataset", "load_design_matrix", "GenoPhenoTable", "read_table",
    "NRTI1246_FEATURES", "TO_MTPS", "FROM_MTPS", "read_rda",
    "find_file", "locate_file", "download_file", "cache_dir",
]
