// The engine's bare scan-and-group of a CUR 2.0 Parquet file: the reference `landlord costs` is
// measured against (the same file, the same group keys' columns, no attribution, no checks).
import { DuckDBInstance } from "@duckdb/node-api";

const file = process.argv[2];
const instance = await DuckDBInstance.create(":memory:");
const connection = await instance.connect();
const reader = await connection.runAndReadAll(`SELECT line_item_usage_account_id, resource_tags['user_landlord_dev_tenant'] AS tenant, resource_tags['user_landlord_dev_pool'] AS pool,
  line_item_product_code, line_item_usage_type, line_item_line_item_type, sum(line_item_unblended_cost) AS cost, count(*) AS n
FROM read_parquet('${file.replace(/'/g, "''")}') GROUP BY ALL`);
process.stdout.write(`${reader.currentRowCount} groups\n`);
connection.closeSync();
instance.closeSync();
