"""Organ catalogue: the 8 NNUS organs, their colours, tolerant name matching and teaching cards.

Canonical ids follow the order of the dataset authors' figures (Trachea ... Sternocleidomastoid).
Colours are the Okabe-Ito colour-blind-safe palette (Okabe & Ito 2008, "Color Universal Design"),
with white in place of its black, which would vanish on a dark ultrasound image.

Teaching content sources (sizes and appearances; see also the project's README):
  [R]  Rumack, Levine. Diagnostic Ultrasound, 5th ed. — chapter "The Thyroid Gland" and neck anatomy.
  [K]  Krejza et al., Stroke 2006;37:1103 — CCA lumen diameter (F 6.1 +/- 0.8, M 6.5 +/- 1.0 mm).
  [B]  Baytok & Ozturk 2025 — subglottic tracheal diameter (M 20.1, F 16.9 mm).
  [Z]  Zhu et al., J Clin Ultrasound 2004, doi:10.1002/jcu.20017 — cervical oesophagus on ultrasound.
  [S]  Solanki et al. 2018 — IJV position relative to the CCA.
  [E]  Magnano et al., J Ultrasonography 2015 — IJV collapse when sitting / with probe pressure.
  [W]  LITFL "Airway ultrasound: transverse views" — air line, reverberation, no posterior wall.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from nnus_core.errors import ClassMappingError


@dataclass(frozen=True)
class TeachingCard:
    """What a sonography teacher would tell a student about one organ."""

    position: str
    depth: str
    echogenicity: str
    landmarks: str
    confused_with: str
    scanning_tip: str


@dataclass(frozen=True)
class Organ:
    """One of the 8 NNUS organs."""

    id: int
    name: str
    short: str
    color: str  # hex "#RRGGBB"
    card: TeachingCard

    @property
    def rgb(self) -> tuple[int, int, int]:
        """Colour as an (R, G, B) tuple of 0-255 ints."""
        h = self.color.lstrip("#")
        return int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16)

    @property
    def bgr(self) -> tuple[int, int, int]:
        """Colour as a (B, G, R) tuple for OpenCV drawing."""
        r, g, b = self.rgb
        return b, g, r


ORGANS: tuple[Organ, ...] = (
    Organ(
        0,
        "Trachea",
        "TRA",
        "#56B4E9",
        TeachingCard(
            position="Midline; in a lobe-centred transverse view only part of its arc shows, medial to the thyroid lobe.",
            depth="Anterior wall about 10-15 mm below the skin; subglottic diameter about 17-20 mm [B].",
            echogenicity="Hypoechoic cartilage ring over a bright, curved air line, followed by "
            "reverberations and a dirty shadow. The posterior wall is never seen [W].",
            landmarks="The thyroid isthmus drapes across its front; the lobes lie on either side.",
            confused_with="The oesophagus (which has a layered 'target' look and no air shadow).",
            scanning_tip="Start in the midline transverse: find the bright arc with reverberations "
            "below it, then slide laterally to the lobe.",
        ),
    ),
    Organ(
        1,
        "Thyroid",
        "THY",
        "#E69F00",
        TeachingCard(
            position="Two lobes beside the trachea joined by the isthmus in front of it; strap muscles "
            "anterior, CCA lateral, oesophagus and longus colli posterior [R].",
            depth="About 7-25 mm deep; lobe AP 15-20 mm, width 20-30 mm, length 40-60 mm [R].",
            echogenicity="Homogeneous, fine, medium-to-high echoes - brighter than the neck muscles - "
            "with a thin bright capsule [R].",
            landmarks="Wedge between the trachea (medial) and the common carotid artery (lateral).",
            confused_with="Strap muscles (darker, striated) and a bright oesophageal wall.",
            scanning_tip="A thyroid darker than the straps suggests thyroiditis: compare the two on the "
            "same image before calling it normal.",
        ),
    ),
    Organ(
        2,
        "Common carotid artery",
        "CCA",
        "#D55E00",
        TeachingCard(
            position="Lateral to the thyroid lobe, deep to the sternocleidomastoid, medial to the IJV.",
            depth="Centre about 15-20 mm deep; lumen about 6 mm (F 6.1, M 6.5 mm) [K].",
            echogenicity="Anechoic round lumen with bright near and far walls (the intima-media "
            "'double line') and posterior acoustic enhancement.",
            landmarks="Round and pulsatile in transverse; a straight tube in longitudinal.",
            confused_with="The internal jugular vein - the IJV is lateral, oval or flat, and collapses "
            "with probe pressure; the CCA stays round.",
            scanning_tip="Press gently: the vein flattens, the artery does not.",
        ),
    ),
    Organ(
        3,
        "Internal jugular vein",
        "IJV",
        "#0072B2",
        TeachingCard(
            position="Lateral or anterolateral to the CCA, under the sternocleidomastoid [S].",
            depth="Similar depth to the CCA; cross-section about 1 cm2 supine, often closed when sitting [E].",
            echogenicity="Anechoic; oval, triangular or slit-like; thin walls; changes calibre with "
            "breathing and pressure.",
            landmarks="Always on the lateral side of the CCA within the carotid sheath.",
            confused_with="The CCA (round, thick-walled, not compressible) or a fascial plane when "
            "fully collapsed.",
            scanning_tip="Use minimal probe pressure and ask for a Valsalva manoeuvre to open it.",
        ),
    ),
    Organ(
        4,
        "Esophagus",
        "ESO",
        "#FFFFFF",
        TeachingCard(
            position="Usually on the patient's LEFT, posteromedial to the left lobe beside the trachea [Z].",
            depth="About 18-28 mm deep; wall about 3-5 mm thick.",
            echogenicity="'Target' look: hypoechoic muscular ring around an echogenic mucosa/lumen.",
            landmarks="Between the trachea and the longus colli, behind the left lobe.",
            confused_with="A parathyroid adenoma or a posterior thyroid nodule; ask the patient to "
            "swallow and watch it move.",
            scanning_tip="Scan the left side transverse at the level of the lower lobe.",
        ),
    ),
    Organ(
        5,
        "Longus colli",
        "LCO",
        "#009E73",
        TeachingCard(
            position="On the anterior surface of the vertebral body, posterior to the thyroid lobe "
            "and posteromedial to the CCA [R].",
            depth="The deepest labelled structure, about 25-35 mm deep.",
            echogenicity="Hypoechoic, striated muscle lying on the bright vertebral cortex with a "
            "clean acoustic shadow below.",
            landmarks="The wavy bright bone line of the vertebra beneath it.",
            confused_with="The oesophagus (more medial, layered) and posterior thyroid nodules.",
            scanning_tip="Increase depth until the bright vertebral line shows; the muscle sits on it.",
        ),
    ),
    Organ(
        6,
        "Strap muscles",
        "STR",
        "#F0E442",
        TeachingCard(
            position="Thin bands directly anterior to the thyroid lobe and isthmus, with a midline raphe.",
            depth="About 3-8 mm below the skin; 2-4 mm thick.",
            echogenicity="Hypoechoic with bright fascial borders; darker than the thyroid.",
            landmarks="Between the subcutaneous fat and the thyroid capsule, medial to the SCM.",
            confused_with="The SCM (larger, more lateral) or the thyroid capsule.",
            scanning_tip="Follow the thin dark ribbon over the thyroid from the midline laterally "
            "until it meets the SCM.",
        ),
    ),
    Organ(
        7,
        "Sternocleidomastoid",
        "SCM",
        "#CC79A7",
        TeachingCard(
            position="Anterolateral, a lens-shaped muscle lateral to the straps, over the carotid sheath.",
            depth="Superficial, about 2-12 mm deep; 5-10 mm thick.",
            echogenicity="Hypoechoic with echogenic perimysium: 'starry sky' dots in short axis, "
            "pennate lines in long axis.",
            landmarks="The CCA and IJV lie directly beneath it.",
            confused_with="The strap muscles (thinner, medial).",
            scanning_tip="Turn the head slightly away: the SCM tightens and its borders sharpen.",
        ),
    ),
)

N_ORGANS = len(ORGANS)
ORGAN_NAMES: tuple[str, ...] = tuple(o.name for o in ORGANS)
# Organs a view of the neck shows at most once: one trachea, and on the side scanned one common
# carotid artery, one internal jugular vein, one oesophagus (NNUS: 622 CCA boxes in 790 images; the
# phantom never draws two). Thyroid (two lobes across the midline), longus colli, strap muscles and
# sternocleidomastoid may show twice.
ONE_PER_VIEW: frozenset[int] = frozenset({0, 2, 3, 4})

# Tolerated spellings (normalised: lowercase, letters only). The authors' figure spells two
# classes "Internal juglar vein" and "Logus coli muscle": a real classes.txt may carry them.
_ALIASES: dict[str, int] = {
    "trachea": 0,
    "tra": 0,
    "thyroid": 1,
    "thyroidgland": 1,
    "thy": 1,
    "commoncarotidartery": 2,
    "carotid": 2,
    "carotidartery": 2,
    "cca": 2,
    "internaljugularvein": 3,
    "internaljuglarvein": 3,
    "jugularvein": 3,
    "ijv": 3,
    "esophagus": 4,
    "oesophagus": 4,
    "eso": 4,
    "longuscolli": 5,
    "longuscollimuscle": 5,
    "loguscolimuscle": 5,
    "loguscoli": 5,
    "longuscoli": 5,
    "lco": 5,
    "strapmuscle": 6,
    "strapmuscles": 6,
    "strap": 6,
    "str": 6,
    "sternocleidomastoid": 7,
    "sternocleidomastoidmuscle": 7,
    "scm": 7,
}


def _normalise(name: str) -> str:
    return re.sub(r"[^a-z]", "", name.lower())


def organ_id_for(name: str) -> int | None:
    """Canonical organ id for a class name, tolerant of case, spacing and known misspellings.

    Returns None for a name that is not recognised: it is reported, never guessed.
    """
    return _ALIASES.get(_normalise(name))


def map_class_names(names: list[str] | tuple[str, ...]) -> dict[int, int]:
    """Map a file's class ids (list positions) onto canonical organ ids.

    Raises:
        ClassMappingError: when any name is unknown or two names map to the same organ.
    """
    mapping: dict[int, int] = {}
    unknown: list[str] = []
    seen: dict[int, str] = {}
    for i, name in enumerate(names):
        oid = organ_id_for(name)
        if oid is None:
            unknown.append(f"{i}: {name!r}")
            continue
        if oid in seen:
            raise ClassMappingError(
                f"class names {seen[oid]!r} and {name!r} both map to organ {ORGANS[oid].name!r}"
            )
        seen[oid] = name
        mapping[i] = oid
    if unknown:
        raise ClassMappingError(
            "unknown class name(s) "
            + ", ".join(unknown)
            + "; expected one of the 8 NNUS organs: "
            + ", ".join(ORGAN_NAMES)
        )
    return mapping


def organ(organ_id: int) -> Organ:
    """The organ with a canonical id.

    Raises:
        KeyError: for an id outside 0..7.
    """
    if not 0 <= organ_id < N_ORGANS:
        raise KeyError(f"organ id must be 0..{N_ORGANS - 1}, got {organ_id}")
    return ORGANS[organ_id]
