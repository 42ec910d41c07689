// Package mergetest is a fake of Merge's (merge.dev) HRIS unified API, served
// over loopback HTTP, for testing a Merge connector without the real service.
//
// It was written from Merge's public documents alone, before and apart from
// any connector that is tested against it:
//
//   - The HRIS OpenAPI description, merge-api/merge-hris-go api/openapi.yaml
//     (June 2023), saved at /work/ref/merge-hris-openapi.yaml: paths, query
//     parameters, the Employee, Employment, Team and Location schemas and the
//     Paginated*List envelope {"next","previous","results"}.
//   - https://docs.merge.dev/hris (base URL https://api.merge.dev/api/hris/v1,
//     "Authorization: Bearer <production key>", "X-Account-Token").
//   - https://docs.merge.dev/merge-unified/hris/common-models/employees/the-employee-object
//     and the current generated clients (merge-api/merge-ruby-client
//     Merge::Hris::Employee): the current Employee field list, which adds
//     created_at and preferred_name to the 2023 OpenAPI; the fake follows the
//     current list.
//   - https://docs.merge.dev/basics/pagination: cursor and page_size,
//     "Defaults to 30, maximum of 100"; next/previous are null when there are
//     no more pages.
//   - https://help.merge.dev/articles/6153657-using-the-expand-parameter:
//     expand=a,b (comma separated, no spaces).
//   - https://docs.merge.dev/basics/rate-limits (per Linked Account limits)
//     and https://help.merge.dev/articles/9660257 (status codes 400, 401,
//     404, 429).
//   - https://docs.merge.dev/basics/webhooks/merge-webhooks and
//     https://help.merge.dev/en/articles/5389453-creating-webhooks-in-merge:
//     payload {"hook","linked_account","data"}; the X-Merge-Webhook-Signature
//     header, "the HMAC-SHA256 of the byte-formatted payload" under the
//     organization's webhook signature key, "encode[d] to Base64url"; data
//     change events "<CommonModel>.added/.changed/.removed" carry "the actual
//     Merge common model"; a sync notification carries sync status.
//   - https://help.merge.dev/articles/2988671375-initial-sync-overview-and-best-practices:
//     the LinkedAccount.sync_completed sample payload, data {"is_initial_sync",
//     "sync_status": {"<model id>": {"last_sync_result",
//     "last_sync_finished"}}}; and Merge's own webhooks reference in
//     github.com/merge-api/merge-unified-skills
//     (skills/merge-onboarding/references/webhooks.md): event names
//     LinkedAccount.sync_completed and <Model>.added/.changed/.removed,
//     .removed carrying "the record as last seen".
//
// Where the documents are silent the fake picks the plainest behaviour and the
// source says "Docs silent:" next to it. The main such choices:
//
//   - Error bodies are Django REST framework's {"detail": "..."} (Merge's
//     cursors are DRF CursorPagination cursors: the OpenAPI example
//     "cD0yMDIx..." is base64 of "p=2021-01-06+03%3A24..."), and an unknown or
//     expired cursor is DRF's 404 {"detail": "Invalid cursor"}.
//   - Lists are ordered by creation; a cursor is a position in that order, so
//     objects changed during a walk are neither skipped nor repeated.
//   - Deleted objects (remote_was_deleted) are left out of lists unless
//     include_deleted_data=true, and GET /{model}/{id} answers 404 for them.
//   - Webhook signatures are sent padded (Python's urlsafe_b64encode);
//     Webhook.Unpadded sends them without "=".
//
// Not modelled: writes (POST/PATCH), passthrough, companies, groups, pay
// groups, benefits, payroll, time off, bank info, remote_fields and
// show_enum_origins and order_by (accepted and ignored), include_sensitive_fields (ssn is
// always null), real rate limiting (429 only by Inject), X-RateLimit-* headers
// (not documented), webhook retries, third-party webhooks, and events for
// Employment, Team and Location changes.
package mergetest
