"""crimegraph: map 'village push' (地推) personal-information-theft chains.

The pipeline is read -> resolve -> build -> analyse -> export:

* :mod:`crimegraph.identifiers` normalises phones, ID numbers, bank cards, OTPs;
* :mod:`crimegraph.io` reads seized exports into evidence tables (``read_case``);
* :mod:`crimegraph.resolve` merges identifiers into persons (with reasons);
* :mod:`crimegraph.graph` builds the typed case graph and the suspect projection;
* :mod:`crimegraph.community` and :mod:`crimegraph.roles` say who is who;
* :mod:`crimegraph.analysis` runs all of it (``analyse``);
* :mod:`crimegraph.disruption` and :mod:`crimegraph.targeting` say whom to arrest first;
* :mod:`crimegraph.synth` writes synthetic case folders in the real export formats;

``import crimegraph`` is light: plotting, pyvis and IPython are imported only
by the functions that need them.
"""

from __future__ import annotations

from .analysis import Analysis, analyse
from .community import Partition, detect_communities
from .disruption import DisruptionCurve, simulate_disruption
from .exceptions import (
    CrimegraphError,
    ExportError,
    FormatError,
    InvalidIdentifierError,
    MissingColumnError,
    MissingDependencyError,
    SchemaError,
    UnsupportedGraphError,
)
from .graph import CaseGraph, build_graph, from_frames, suspect_projection, to_frames
from .identifiers import (
    extract_identifiers,
    mask_bank_card,
    mask_id_number,
    mask_phone,
    mask_text,
    normalize_bank_card,
    normalize_id_number,
    normalize_phone,
)
from .io import (
    Case,
    LoadReport,
    read,
    read_alipay,
    read_bank_statement,
    read_case,
    read_cellebrite_contacts,
    read_contact_sheet,
    read_memotrace,
    read_pywxdump,
    read_ufdr_chats,
    read_ufdr_contacts,
    read_vcard,
    read_wechat_pay,
)
from .resolve import Resolution, resolve_entities
from .roles import RoleResult, infer_roles, money_flows
from .targeting import Ranking, compare_strategies, rank_targets

__version__ = "0.1.0"

__all__ = [
    "__version__",
    "CrimegraphError",
    "ExportError",
    "FormatError",
    "InvalidIdentifierError",
    "MissingColumnError",
    "MissingDependencyError",
    "SchemaError",
    "UnsupportedGraphError",
    "Analysis",
    "analyse",
    "Partition",
    "detect_communities",
    "CaseGraph",
    "build_graph",
    "from_frames",
    "suspect_projection",
    "to_frames",
    "Resolution",
    "resolve_entities",
    "DisruptionCurve",
    "simulate_disruption",
    "Ranking",
    "compare_strategies",
    "rank_targets",
    "RoleResult",
    "infer_roles",
    "money_flows",
    "Case",
    "LoadReport",
    "read",
    "read_alipay",
    "read_bank_statement",
    "read_case",
    "read_cellebrite_contacts",
    "read_contact_sheet",
    "read_memotrace",
    "read_pywxdump",
    "read_ufdr_chats",
    "read_ufdr_contacts",
    "read_vcard",
    "read_wechat_pay",
    "extract_identifiers",
    "mask_bank_card",
    "mask_id_number",
    "mask_phone",
    "mask_text",
    "normalize_bank_card",
    "normalize_id_number",
    "normalize_phone",
]
