# The migration Job's script in the tests (test/e2e/checks.sh, test/integration/realJobs.ts): it
# checks what Landlord promises a migration — the move's facts in its environment and the target's
# endpoint — and fails on purpose, as a locked table would, for tenants named *-fail.
# {{tenantId}} is filled in by Landlord from the policy's jobTemplate.
set -eu
echo "migrating $TENANT_ID from $FROM_TIER to $TO_TIER at $TARGET_ENDPOINT:$TARGET_PORT"
test "$TENANT_ID" = "{{tenantId}}"
test "$FROM_TIER" = pooled && test "$TO_TIER" = database
test -n "$TARGET_ENDPOINT" && test "$TARGET_PORT" = 5432
case "$TARGET_SECRET_ARN" in arn:aws:secretsmanager:*) ;; *) echo "no secret ARN"; exit 2;; esac
case "$TENANT_ID" in *-fail) echo "relation orders is locked"; exit 3;; esac
echo "migrated"
