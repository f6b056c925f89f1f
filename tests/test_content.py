"""Built-in content: the toolkit, the sample materials and the demo directory."""

from __future__ import annotations

import yaml
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from knowledge.content import holds_demo_directory, remove_demo_directory
from knowledge.lexicon import LEXICON_DIR, default_lexicon
from knowledge.models import Attribute, SampleMaterial, Service, TaxonomyTerm, ToolkitResource
from knowledge.setup import prepare_database


async def test_first_run_loads_everything_once(
    database_url: str, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    await prepare_database(database_url, session_factory)
    again = await prepare_database(database_url, session_factory)
    assert not any("demo directory" in line for line in again)  # only on first run
    async with session_factory() as session:
        toolkit = list(
            await session.scalars(select(ToolkitResource).order_by(ToolkitResource.position))
        )
        assert len(toolkit) == 12
        assert [t.section for t in toolkit].count("best-practice") == 8
        assert [t.section for t in toolkit].count("report") == 2
        assert all(t.title_es and t.body_es and t.body_es != t.body_en for t in toolkit)
        materials = list(await session.scalars(select(SampleMaterial)))
        assert len(materials) == 5
        assert all(m.content_en and m.content_es for m in materials)
        assert await session.scalar(select(func.count()).select_from(Service)) >= 45


async def test_demo_directory_covers_the_common_needs(
    database_url: str, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    await prepare_database(database_url, session_factory)
    async with session_factory() as session:
        codes = set(
            await session.scalars(
                select(TaxonomyTerm.code)
                .join(Attribute, Attribute.taxonomy_term_id == TaxonomyTerm.id)
                .join(Service, Service.id == Attribute.link_id)
                .where(Service.status == "active")
            )
        )
    # The common needs are concepts.yaml's; concepts-rights.yaml holds what real directories
    # add (family law, foreclosure...), measured on them (tests/test_relevance_real.py).
    common = LEXICON_DIR / "concepts.yaml"
    needs = {str(row["id"]) for row in yaml.safe_load(common.read_text(encoding="utf-8"))}
    assert len(needs) >= 40
    assert needs <= codes
    assert needs <= {c.id for c in default_lexicon().concepts}


def test_every_need_has_a_label_that_fits_its_button() -> None:
    lexicon = default_lexicon()
    categories = {category.id for category in lexicon.categories}
    for concept in lexicon.concepts:
        # (a file adding phrases to a need must not make it first, without its own label)
        assert concept.category in categories, concept.id
        for language in ("en", "es"):
            assert 0 < len(concept.label[language]) <= 24, (concept.id, language)
            assert concept.label[language] != concept.id, (concept.id, language)


async def test_demo_directory_can_be_removed(
    database_url: str, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    await prepare_database(database_url, session_factory)
    async with session_factory() as session, session.begin():
        assert await holds_demo_directory(session)
        await remove_demo_directory(session)
    async with session_factory() as session:
        assert not await holds_demo_directory(session)
        assert await session.scalar(select(func.count()).select_from(Service)) == 0
