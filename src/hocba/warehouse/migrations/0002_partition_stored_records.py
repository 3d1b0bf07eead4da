"""On PostgreSQL, stored records live in a table partitioned by school year: one partition per
year from 2015-2016 to 2049-2050 and a default one for anything else (see docs/warehouse.md;
a later migration adds the years after). Creating partitions ahead keeps DDL out of the
ingestion transactions. A partitioned table's
primary key and unique constraints must include the partition key, so the database holds
(id, school_year) as primary key and (record_id, version, school_year) as the "stored once"
constraint; a record id belongs to one school year, so this is the model's own rule. SQLite
keeps the plain table."""

from django.db import migrations

TABLE = "warehouse_storedrecord"

CREATE = f"""
DROP TABLE {TABLE};
CREATE SEQUENCE IF NOT EXISTS {TABLE}_id_seq;
CREATE TABLE {TABLE} (
    id bigint NOT NULL DEFAULT nextval('{TABLE}_id_seq'),
    record_id uuid NOT NULL,
    version integer NOT NULL CHECK (version >= 0),
    event varchar(6) NOT NULL,
    state varchar(10) NOT NULL,
    school_year varchar(9) NOT NULL,
    province_code varchar(2) NOT NULL,
    province_office_code varchar(2) NOT NULL,
    district_name varchar(150) NOT NULL,
    school_code varchar(20) NOT NULL,
    school_name varchar(200) NOT NULL,
    personal_id varchar(12) NOT NULL,
    xml_sha256 varchar(64) NOT NULL,
    xml_size integer NOT NULL CHECK (xml_size >= 0),
    package_id bigint NULL REFERENCES warehouse_receivedpackage (id)
        DEFERRABLE INITIALLY DEFERRED,
    received_at timestamp with time zone NOT NULL,
    PRIMARY KEY (id, school_year),
    CONSTRAINT stored_version_once UNIQUE (record_id, version, school_year)
) PARTITION BY LIST (school_year);
ALTER SEQUENCE {TABLE}_id_seq OWNED BY {TABLE}.id;
CREATE INDEX {TABLE}_record_id ON {TABLE} (record_id);
CREATE INDEX {TABLE}_province_code ON {TABLE} (province_code);
CREATE INDEX {TABLE}_school_code ON {TABLE} (school_code);
CREATE INDEX {TABLE}_personal_id ON {TABLE} (personal_id);
CREATE INDEX {TABLE}_package_id ON {TABLE} (package_id);
"""


YEARS = [f"{y}-{y + 1}" for y in range(2015, 2050)]


def partition(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(CREATE)
        for year in YEARS:
            name = f"{TABLE}_y{year.replace('-', '_')}"
            cursor.execute(f"CREATE TABLE {name} PARTITION OF {TABLE} FOR VALUES IN ('{year}')")
        cursor.execute(f"CREATE TABLE {TABLE}_other PARTITION OF {TABLE} DEFAULT")


class Migration(migrations.Migration):
    dependencies = [("warehouse", "0001_initial")]

    operations = [migrations.RunPython(partition, migrations.RunPython.noop)]
