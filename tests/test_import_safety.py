"""Import and export of data from outside, probed as an attacker or a bad day would: each test
is one finding of the hardening round (issue 16), on real databases."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from knowledge.content import ContentFormatError, load_materials
from knowledge.db import create_engine, create_sessionmaker
from knowledge.hsds import (
    DEFAULT_LIMITS,
    DirectoryFormatError,
    ImportLimitError,
    ImportLimits,
    export_directory,
    import_directory,
)
from knowledge.models import Location, Organization, SampleMaterial, Service

ORGANIZATIONS = "id,name\norg-1,Helpers\n"


async def service_names(session: AsyncSession) -> list[str]:
    return list(await session.scalars(select(Service.name).order_by(Service.id)))


def outside_directory(tmp_path: Path) -> Path:
    """A host folder holding what must never be imported: a 'secret' service."""
    secret = tmp_path / "host-secrets"
    secret.mkdir()
    (secret / "organizations.csv").write_text("id,name\nsecret-org,Host secret organization\n")
    (secret / "services.csv").write_text(
        "id,organization_id,name\nsecret-svc,secret-org,Host secret service\n"
    )
    return secret


# --- Paths stay inside what was given ----------------------------------------------------------


@pytest.mark.parametrize("style", ["dotdot", "absolute"])
async def test_datapackage_paths_cannot_lead_out_of_the_package(
    session: AsyncSession, tmp_path: Path, style: str
) -> None:
    secret = outside_directory(tmp_path)
    package = tmp_path / "package"
    package.mkdir()
    prefix = "../host-secrets/" if style == "dotdot" else f"{secret}/"
    (package / "datapackage.json").write_text(
        json.dumps(
            {
                "resources": [
                    {"name": "organizations", "path": f"{prefix}organizations.csv"},
                    {"name": "services", "path": f"{prefix}services.csv"},
                ]
            }
        )
    )

    with pytest.raises(DirectoryFormatError, match="holds no HSDS file"):
        await import_directory(session, package / "datapackage.json")

    assert await service_names(session) == []


async def test_datapackage_and_folder_symlinks_out_are_not_followed(
    session: AsyncSession, tmp_path: Path
) -> None:
    secret = outside_directory(tmp_path)
    package = tmp_path / "package"
    (package / "data").mkdir(parents=True)
    (package / "data" / "organizations.csv").write_text(ORGANIZATIONS)
    (package / "data" / "services.csv").symlink_to(secret / "services.csv")
    (package / "datapackage.json").write_text(
        json.dumps(
            {
                "resources": [
                    {"name": "organizations", "path": "data/organizations.csv"},
                    {"name": "services", "path": "data/services.csv"},
                ]
            }
        )
    )
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "organizations.csv").write_text(ORGANIZATIONS)
    (folder / "services.csv").symlink_to(secret / "services.csv")

    from_package = await import_directory(session, package)
    from_folder = await import_directory(session, folder)

    assert from_package.warnings == [
        "datapackage.json: resource 'services' path 'data/services.csv' leads outside the "
        "package; not read"
    ]
    assert from_folder.warnings == ["services.csv: a link to a file outside the folder; not read"]
    assert await service_names(session) == []
    assert list(await session.scalars(select(Organization.name))) == ["Helpers"]


@pytest.mark.parametrize("file", ["../host-secrets/services", "/etc/hostname", "docs/../../x"])
async def test_materials_files_stay_in_the_materials_folder(
    session: AsyncSession, tmp_path: Path, file: str
) -> None:
    outside_directory(tmp_path)
    (tmp_path / "host-secrets" / "services.en.md").write_text("a host file")
    folder = tmp_path / "materials"
    folder.mkdir()
    yaml_file = folder / "materials.yaml"
    yaml_file.write_text(
        f"- id: leak\n  file: {json.dumps(file)}\n"
        "  title: {en: Leak}\n  description: {en: Leak}\n"
    )

    with pytest.raises(ContentFormatError, match="must name a document in the folder"):
        await load_materials(session, yaml_file)

    assert not await session.scalar(select(func.count()).select_from(SampleMaterial))


async def test_a_materials_document_linking_out_of_the_folder_is_not_read(
    session: AsyncSession, tmp_path: Path
) -> None:
    secret = tmp_path / "host-secret.md"
    secret.write_text("a host file")
    folder = tmp_path / "materials"
    folder.mkdir()
    (folder / "leak.en.md").symlink_to(secret)
    yaml_file = folder / "materials.yaml"
    yaml_file.write_text("- id: leak\n  file: leak\n  title: {en: Leak}\n  description: {en: L}\n")

    with pytest.raises(ContentFormatError, match="no document leak.en.md"):
        await load_materials(session, yaml_file)


# --- Limits, each one line -------------------------------------------------------------------


def test_default_limits_are_set() -> None:
    assert DEFAULT_LIMITS.max_unpacked_bytes <= 1024**3
    assert DEFAULT_LIMITS.max_csv_bytes <= 1024**3
    assert DEFAULT_LIMITS.max_zip_members <= 10_000
    assert DEFAULT_LIMITS.max_rows_per_file <= 10_000_000
    assert DEFAULT_LIMITS.max_cell_chars <= 1024**2


async def test_a_zip_bomb_is_refused_in_one_line(session: AsyncSession, tmp_path: Path) -> None:
    archive = tmp_path / "bomb.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
        bundle.writestr("organizations.csv", ORGANIZATIONS)
        bundle.writestr("services.csv", "id,organization_id,name\n" + "x,org-1,y\n" * 400_000)
    assert archive.stat().st_size < 100_000  # ~4 MB of CSV in a small zip

    with pytest.raises(ImportLimitError) as refused:
        await import_directory(session, archive, ImportLimits(max_unpacked_bytes=1024**2))

    message = str(refused.value)
    assert "\n" not in message
    assert message.startswith("bomb.zip unpacks to more than 1 MB")
    assert message.endswith("nothing was imported.")


async def test_a_zip_of_too_many_files_is_refused(session: AsyncSession, tmp_path: Path) -> None:
    archive = tmp_path / "many.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.writestr("organizations.csv", ORGANIZATIONS)
        for number in range(60):
            bundle.writestr(f"junk/{number}.txt", "x")

    with pytest.raises(ImportLimitError, match="many.zip holds 61 files, over the 50"):
        await import_directory(session, archive, ImportLimits(max_zip_members=50))


async def test_only_what_the_importer_reads_is_unpacked(
    session: AsyncSession, tmp_path: Path
) -> None:
    archive = tmp_path / "mixed.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
        bundle.writestr("organizations.csv", ORGANIZATIONS)
        bundle.writestr("video.mp4", b"\0" * 5_000_000)  # counted against nothing, never written

    report = await import_directory(session, archive, ImportLimits(max_unpacked_bytes=1024**2))

    assert report.files["organizations.csv"].inserted == 1


async def test_too_much_csv_for_one_import_is_refused(
    session: AsyncSession, tmp_path: Path
) -> None:
    (tmp_path / "organizations.csv").write_text("id,name\n" + "org,Name\n" * 200_000)

    with pytest.raises(ImportLimitError, match=r"The CSV files come to 2 MB, over the 1 MB"):
        await import_directory(session, tmp_path, ImportLimits(max_csv_bytes=1024**2))


async def test_too_many_rows_in_a_file_are_refused(session: AsyncSession, tmp_path: Path) -> None:
    rows = "".join(f"org-{number},Name {number}\n" for number in range(12))
    (tmp_path / "organizations.csv").write_text("id,name\n" + rows)

    with pytest.raises(ImportLimitError) as refused:
        await import_directory(session, tmp_path, ImportLimits(max_rows_per_file=10))

    assert str(refused.value) == (
        "organizations.csv: more than 10 rows, the limit for one file; nothing was imported."
    )


# --- Bad bytes and bad rows --------------------------------------------------------------------


async def test_nul_bytes_are_removed_not_sent_to_the_database(
    session: AsyncSession, tmp_path: Path
) -> None:
    (tmp_path / "organizations.csv").write_bytes(b"id,name\norg-1,Hel\x00pers\x00\n")

    report = await import_directory(session, tmp_path)
    await session.commit()

    assert report.warnings == ["organizations.csv: 2 NUL bytes removed"]
    assert list(await session.scalars(select(Organization.name))) == ["Helpers"]


async def test_a_huge_cell_skips_its_row_only(session: AsyncSession, tmp_path: Path) -> None:
    huge = "word " * 40_000  # 200,000 characters, over csv's own 128 KiB field limit
    (tmp_path / "organizations.csv").write_text(ORGANIZATIONS)
    with (tmp_path / "services.csv").open("w", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(["id", "organization_id", "name", "description"])
        writer.writerow(["svc-1", "org-1", "Before", "fine"])
        writer.writerow(["svc-2", "org-1", "Huge", huge])
        writer.writerow(["svc-3", "org-1", "After", "fine"])

    report = await import_directory(session, tmp_path)
    await session.commit()

    assert await service_names(session) == ["Before", "After"]
    assert report.problems == [
        "services.csv:3: description is 200,000 characters long, over the 65,536 a cell may "
        "hold (an unclosed quote?)"
    ]
    assert report.skipped_reasons == {"cell over the size limit": 1}


async def test_a_bom_and_one_windows_byte_keep_every_row(
    session: AsyncSession, tmp_path: Path
) -> None:
    (tmp_path / "organizations.csv").write_bytes(
        b"\xef\xbb\xbfid,name\r\norg-1,Caf\xe9 Comunitario\r\norg-2,Ni\xc3\xb1os Unidos\r\n"
    )

    report = await import_directory(session, tmp_path)
    await session.commit()

    assert report.problems == []
    assert report.warnings == ["organizations.csv: not UTF-8 (1 line); read as Windows-1252"]
    names = list(await session.scalars(select(Organization.name).order_by(Organization.id)))
    assert names == ["Café Comunitario", "Niños Unidos"]  # each line in its own encoding


# --- Export ------------------------------------------------------------------------------------

FORMULAS = {
    "svc-1": '=HYPERLINK("http://evil.example","Click")',
    "svc-2": "+cmd|' /C calc'!A0",
    "svc-3": "@SUM(1+1)",
    "svc-4": "-2+3+cmd|' /C calc'!A0",
    "svc-5": "\tTabbed",
    "svc-6": "\rReturned",
    "svc-7": "Plain name",
}


async def test_exported_cells_cannot_run_as_formulas_and_come_back_as_they_were(
    database_url: str,
    fresh_database: Callable[[], Awaitable[str]],
    tmp_path: Path,
) -> None:
    engine = create_engine(database_url)
    async with create_sessionmaker(engine)() as session:
        session.add(Organization(id="org-1", name="=1+1"))
        await session.flush()
        for service_id, name in FORMULAS.items():
            session.add(Service(id=service_id, organization_id="org-1", name=name))
        session.add(Location(id="loc-1", name="Hall", latitude=41.8, longitude=-87.6))
        await session.commit()
        await export_directory(session, tmp_path / "export")
    await engine.dispose()

    with (tmp_path / "export" / "services.csv").open(newline="", encoding="utf-8") as stream:
        names = {row["id"]: row["name"] for row in csv.DictReader(stream)}
    for service_id, name in FORMULAS.items():
        expected = name if service_id == "svc-7" else "'" + name
        assert names[service_id] == expected
    locations = (tmp_path / "export" / "locations.csv").read_text(encoding="utf-8")
    assert ",-87.6," in locations  # a number is not a formula: left as it is

    engine = create_engine(await fresh_database())
    async with create_sessionmaker(engine)() as session:
        await import_directory(session, tmp_path / "export")
        await session.commit()
        back = dict((await session.execute(select(Service.id, Service.name))).all())
        organization = await session.get(Organization, "org-1")
    await engine.dispose()
    assert back == FORMULAS  # the importer takes the apostrophe off again
    assert organization is not None and organization.name == "=1+1"


def test_csv_module_default_limit_is_raised_for_everyone() -> None:
    # One process-wide setting: the importer measures cells itself (max_cell_chars).
    reader = csv.reader(io.StringIO("a," + "x" * 200_000 + "\n"))
    assert len(next(reader)[1]) == 200_000
