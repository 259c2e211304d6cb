"""HubSpot CRM deals and their company associations (CRM v3 search, v4 associations).

Fetches: deals through `POST /crm/v3/objects/deals/search` filtered on `hs_lastmodifieddate` and
sorted by it (each page a new search from the last instant read; many deals of one instant are
read in `hs_object_id` order, each page from the last id read), the deals' companies through
`POST /crm/v4/associations/deals/companies/batch/read`, and archived deals through
`GET /crm/v3/objects/deals?archived=true` (search never returns them).
Grain: `raw.hubspot_deals` one row per deal id (its latest version, archived ones flagged);
`raw.hubspot_deal_companies` one row per deal with its de-duplicated company ids.
Cursor: the largest `hs_lastmodifieddate` loaded, kept in `raw._sync_state`; each sync searches
from five minutes before it (search lags writes by a few seconds) and upserts by id, so a sync
with no changes leaves every row as it was. Not partitioned: the nightly run syncs whatever
changed, whatever day it is for.
Credentials: `HUBSPOT_ACCESS_TOKEN` (a private-app token with `crm.objects.deals.read` and
`crm.objects.companies.read`), `HUBSPOT_BASE_URL` (default `https://api.hubapi.com`). Unset token:
the source is skipped with one log line.
"""
