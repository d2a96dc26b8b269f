import type { AwsCostRow } from "./allocate.ts";
import { parseCsv } from "./csv.ts";
import { parseUsdCents } from "./allocate.ts";

export const AWS_COLUMNS = ["linked_account", "tag_landlord_dev_tenant", "service", "unblended_cost_usd"] as const;

/**
 * Rows of an AWS Cost Explorer / CUR export grouped by the landlord.dev/tenant tag, header
 * linked_account,tag_landlord_dev_tenant,service,unblended_cost_usd. Each row's cost is rounded to
 * the cent. Throws an Error naming the line on a bad row. Pure.
 */
export function parseAwsCosts(text: string): AwsCostRow[] {
  const table = parseCsv(text);
  for (const column of AWS_COLUMNS) {
    if (!table.header.includes(column)) throw new Error(`the header must be ${AWS_COLUMNS.join(",")}; "${column}" is missing`);
  }
  return table.rows.map(({ line, fields }) => {
    let cents: number;
    try {
      cents = parseUsdCents(fields.unblended_cost_usd ?? "");
    } catch (error) {
      throw new Error(`line ${line}: unblended_cost_usd: ${error instanceof Error ? error.message : String(error)}`);
    }
    // Cost Explorer writes "tag$value"-style keys in some exports; accept "landlord.dev/tenant$acme" too.
    const tag = (fields.tag_landlord_dev_tenant ?? "").replace(/^landlord\.dev\/tenant\$/, "");
    return { linkedAccount: fields.linked_account ?? "", tenantTag: tag, service: fields.service ?? "", cents };
  });
}
