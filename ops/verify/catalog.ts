// The check catalogue: every check verify runs, in its order, with its id, what it checks and how
// often it runs; `verify --help` and docs/verify.md list the checks from here.
import { permissionsHelp } from "../permissions";
import { quotas } from "../../plan/quotas";
import { healthyReplicationStates } from "../aws/sourceServers";
import { defaultMaxDrillAgeDays } from "./types";

type CheckScope =
    | "staging account"
    | "staging account and Region"
    | "staging key"
    | "EC2 source account"
    | "multi-Region primary"
    | "target Region"
    | "key-user role"
    | "failback origin"
    | "run";

/** Every check, in the order verify runs them, with how often it runs. */
const checks: { id: string; scope: CheckScope; what: string }[] = [
    {
        id: "drs-service-linked-role",
        scope: "staging account",
        what: "DRS's service-linked role AWSServiceRoleForElasticDisasterRecovery exists (DRS was initialised there)",
    },
    { id: "staging-drs-initialised", scope: "staging account and Region", what: "DRS answers: it is initialised in that Region" },
    { id: "key-state", scope: "staging key", what: "the key exists and is Enabled (not Disabled or PendingDeletion)" },
    { id: "key-rotation", scope: "staging key", what: "automatic rotation is as configured (on by default)" },
    { id: "key-policy", scope: "staging key", what: "the key policy is the one the program deploys (no drift)" },
    {
        id: "key-policy-size",
        scope: "staging key",
        what: `the key policy's bytes against KMS's ${quotas.keyPolicyBytes.value.toLocaleString("en-US")}`,
    },
    {
        id: "multi-region-replicas",
        scope: "multi-Region primary",
        what: "the key is still the multi-Region primary, and has a replica in each Region the stack exports one for",
    },
    { id: "staging-role", scope: "staging key", what: "DRSStagingAccountRole_<target> exists with the expected trust policy" },
    { id: "replication-template", scope: "staging key", what: "the DRS replication template uses ebsEncryption CUSTOM with this key" },
    {
        id: "source-server-encryption",
        scope: "staging key",
        what: "each source server replicating there has its own ebsEncryption CUSTOM with exactly this key",
    },
    {
        id: "ec2-source-account-roles",
        scope: "EC2 source account",
        what: "each account of stagingAccounts[].ec2SourceAccounts has DRS's failback and in-AWS right-sizing roles for the staging account (Marketplace licences); EC2 sources from unlisted accounts are named",
    },
    {
        id: "replicating-capacity",
        scope: "staging key",
        what: `servers replicating in the staging account and Region against DRS's ${quotas.replicatingServers.value}`,
    },
    { id: "target-describe-key", scope: "staging key", what: "the target account can DescribeKey the key (the guide's verification step)" },
    {
        id: "target-direct-decrypt-denied",
        scope: "staging key",
        what: "a direct Decrypt from the target is denied: the key is usable only through EC2",
    },
    { id: "target-drs-initialised", scope: "target Region", what: "DRS answers in the target account: it is initialised in that Region" },
    {
        id: "target-ebs-encryption",
        scope: "target Region",
        what: "EBS encryption by default is on in the target, with a key of the target's own (not a staging account's)",
    },
    {
        id: "extended-source-servers",
        scope: "staging key",
        what: `source servers extended from the staging account into the target, against its ${quotas.replicatingServers.value}-server capacity`,
    },
    {
        id: "extended-server-replication",
        scope: "staging key",
        what: "no extended server has an extension error, and each replicates in a healthy state",
    },
    {
        id: "extension-coverage",
        scope: "staging key",
        what: "every server replicating in the staging account is extended into the target (else the target cannot recover it); target.unprotectedServers makes one left out on purpose INFO",
    },
    {
        id: "extended-server-drills",
        scope: "staging key",
        what: "each extended server's last drill or recovery launched, within --max-drill-age days (default 90): else it is unproven",
    },
    {
        id: "server-readiness",
        scope: "staging key",
        what: "per server: extended, on the key, replication state, lag (--max-lag, default 30 min), backlog, latest point in time (--max-snapshot-age, default 30 min), last drill; FAIL when behind",
    },
    {
        id: "in-aws-right-sizing-roles",
        scope: "staging key",
        what: "where target.launch sets IN_AWS right-sizing: the staging account has DRS's failback and in-AWS right-sizing roles for the target (inferred: WARN)",
    },
    {
        id: "failback-client-credentials",
        scope: "target Region",
        what: "with failback to: on-premises: a user, role or group in the target holds AWSElasticDisasterRecoveryFailbackInstallationPolicy (the Failback Client's credentials)",
    },
    {
        id: "failback-origin-drs",
        scope: "failback origin",
        what: "DRS answers at the origin the servers fail back to, and its service-linked role exists (initialize --apply initialises it)",
    },
    {
        id: "failback-roles",
        scope: "failback origin",
        what: "DRS's failback and in-AWS right-sizing roles in both directions: in the origin for the target, in the target for the origin",
    },
    {
        id: "failback-origin-key",
        scope: "failback origin",
        what: "the origin's replication template (the new source servers' settings) uses a customer managed key whose policy lets the origin's DRS service-linked role use it",
    },
    {
        id: "source-network-roles",
        scope: "failback origin",
        what: "with failback.networkReplication: DRSSourceNetworkRole in both directions, trusted by DRS for the other account's source networks",
    },
    {
        id: "target-capacity",
        scope: "target Region",
        what: "servers extended into the target from the stack's staging accounts, against DRS's source servers per account and Region",
    },
    {
        id: "managed-policies-per-role",
        scope: "key-user role",
        what: "managed policies attached to each of target.keyUserRoleNames, against target.maxPoliciesPerRole (IAM's quota)",
    },
    {
        id: "monthly-cost",
        scope: "run",
        what: "INFO: the keys' and DRS's monthly cost from the live server counts (plan/pricing.ts, --prices)",
    },
];

/** Every check, for `verify --help` and docs/verify.md. */
export const checkCatalog: [string, string][] = checks.map((c) => [c.id, c.what]);

/** docs/verify.md's table of the checks, in the order verify runs them (npm run docs writes it). */
export function checksMarkdown(): string {
    // `<target>` would be read as an HTML tag.
    const cell = (text: string) => text.replace(/[|<]/g, (c) => `\\${c}`);
    return [
        "| Check | Once per | What it checks |",
        "|---|---|---|",
        ...checks.map((c) => `| \`${c.id}\` | ${c.scope} | ${cell(c.what)} |`),
    ].join("\n");
}

/** What `verify --help` says after the options: the checks, what they need, the exit codes. */
export function verifyHelp(): string {
    const group = (scope: CheckScope) => checks.filter((c) => c.scope === scope).map((c) => `  ${c.id.padEnd(30)} ${c.what}`);
    return [
        "Checks a deployed stack against real AWS, read-only: it never changes anything. It uses the roles",
        "the stack config names (stagingAccounts[].roleArn, target.roleArn or targets[].roleArn); without one, the current",
        "credentials, which must then be for that account. Each account is called in its entry's Region and",
        "partition (IAM in us-east-1, cn-north-1 or us-gov-west-1). It first checks, once, that the current",
        "credentials work (sts:GetCallerIdentity): if not, it says why and exits 2.",
        "",
        "Where the stack's outputs and config come from:",
        "  - with the Pulumi CLI on PATH and no --outputs: from the stack itself (the Automation API, as",
        "    `pulumi stack output` and `pulumi config` read them; secrets decrypted, and never printed);",
        "  - otherwise from files: --outputs (`pulumi stack output --json`, a file or - for stdin) and the",
        "    stack file (Pulumi.<stack>.yaml, or --config-file) under Pulumi.yaml's project config.",
        "",
        "Checks (PASS, FAIL or WARN, each with its fix; UNCHECKED when a check could not run, with why), once per",
        "staging account:",
        ...group("staging account"),
        "Once per staging account and Region:",
        ...group("staging account and Region"),
        "Per staging key (staging account and Region; each replica of a multi-Region key is a key of its own):",
        ...group("staging key"),
        "Per EC2 source account of a staging entry (stagingAccounts[].ec2SourceAccounts):",
        ...group("EC2 source account"),
        "Once per multi-Region primary key (key.multiRegion):",
        ...group("multi-Region primary"),
        "Once per target Region (those in target.regions and those of the keys):",
        ...group("target Region"),
        "Once per failback origin and target (stagingAccounts[].failback, to: aws):",
        ...group("failback origin"),
        "Once per role of target.keyUserRoleNames:",
        ...group("key-user role"),
        "Once, at the end:",
        ...group("run"),
        "",
        "Source servers: each server has its own replication settings; the template is only the default for",
        "servers added later. A server not on CUSTOM with exactly the key's ARN cannot be recovered in the",
        "target: `npm run -s align-servers -- -s <stack>` shows the changes, and with --apply makes them",
        "(a full sync may follow).",
        `Data replication states treated as healthy: ${healthyReplicationStates.join(", ")}. Every other state`,
        "(for example STALLED, DISCONNECTED, PAUSED, STOPPED, BACKLOG) is reported, as is an extension error.",
        "",
        "A FAIL names the guide's troubleshooting symptom it explains. A check that could not run is UNCHECKED,",
        "never passed, with why: its account could not be reached, a call was refused (and the permission it",
        "needs), AWS kept failing, an answer was not what AWS sends, no answer came in time (--request-timeout),",
        "or the --time-limit (default 30 minutes) came first. Throttled calls are retried by the AWS SDK",
        "(adaptive retry mode); every listing is bounded. Progress goes to stderr.",
        "",
        "Proof: an extended server whose last drill or recovery in the target failed, or that was never",
        `drilled, is unproven (WARN, naming the drill command); one drilled more than ${defaultMaxDrillAgeDays} days ago (--max-drill-age) too.`,
        "",
        "Multi-Region keys: a replica shares its primary's rotation (key-rotation on a replica reports the primary's,",
        "which only the primary can change). A missing replica leaves its Region's template and target policy naming",
        "a key that does not exist; a primary Region changed in AWS (UpdatePrimaryRegion) leaves the stack managing",
        "a replica as its primary.",
        "",
        ...permissionsHelp("verify"),
        "",
        "--json prints the results as one JSON array on stdout (check, scope, status, message, fix, and per",
        "server the full list in details); the text form shows counts and the first few servers only.",
        "",
        "Quotas come from plan/quotas.ts and prices from plan/pricing.ts (list prices, each with its source and",
        "date; --prices <file.json> replaces figures, e.g. a DRS price per server-hour): docs/cost-and-quotas.md.",
    ].join("\n");
}
