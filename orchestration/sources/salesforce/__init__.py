"""Salesforce opportunities (REST API, SOQL through `queryAll`).

Fetches: `Opportunity` rows whose `SystemModstamp` is at or after the stored high-water mark (less
five minutes), ordered by it, following `nextRecordsUrl` until `done`. `queryAll` includes deleted
rows (`IsDeleted = true`), so a deletion arrives as an update and is removed downstream.
`CurrencyIsoCode` is queried only when the org has multiple currencies (the describe call says;
querying it otherwise is an error); the org's `DefaultCurrencyIsoCode` is stored beside each row.
Grain: `raw.salesforce_opportunities` one row per opportunity id (its latest version).
Cursor: the largest `SystemModstamp` loaded, kept in `raw._sync_state`; upserts by id, so a sync
with no changes leaves every row as it was. Not partitioned.
Credentials: `SALESFORCE_INSTANCE_URL` (`https://<MyDomain>.my.salesforce.com`) and
`SALESFORCE_ACCESS_TOKEN` (an OAuth access token). Either unset: skipped with one log line.
"""
