// Capacity: the quotas a DRS setup across accounts runs into, each with where it comes from
// (docs/cost-and-quotas.md), and how much of each the plan uses: per staging account and Region,
// per target account, and IAM's and KMS's size limits. verify compares the live counts with the
// same table. On the plan's path: no imports beyond the policy vocabulary.
import {
    PolicyDocument,
    accountOf,
    awsPrincipals,
    keyPolicySize,
    limits,
    managedPolicySize,
    parseKeyArn,
    parsePolicyDocument,
    providerAccountId,
} from "../components/policies";
import { KeyKind, ServerCount, plannedKeys, plansOf } from "./pricing";
import { type SynthResult } from "./plan";
import { plural } from "../config/text";

export interface Quota {
    /** The figure; undefined when no source for it could be found. */
    value?: number;
    per: string;
    source: string;
    /** Whether the figure was read on AWS's own page (false: seen elsewhere, check it). */
    confirmed: boolean;
    note?: string;
}

/** The quotas, once. Read 2026-11-29 from the copies of AWS's pages available offline. */
export const quotas = {
    /** docs/aws-requirements.md, Capacity. */
    replicatingServers: {
        value: 300,
        per: "staging account and Region",
        source: "https://docs.aws.amazon.com/drs/latest/userguide/multi-account.html",
        confirmed: true,
        note: "more servers come from more staging accounts extended into one target",
    },
    /**
     * Source servers per account and Region, which in the target counts its extended servers. AWS's
     * quota page lists DRS's quotas; the copy available offline did not show its table, and the
     * figure was seen only in a copy of that table elsewhere: the plan marks it unconfirmed.
     */
    sourceServers: {
        value: 4000,
        per: "account and Region (in the target, each extended server is a source server)",
        source: "https://docs.aws.amazon.com/general/latest/gr/drs.html",
        confirmed: false,
        note: "adjustable; check Service Quotas (AWS Elastic Disaster Recovery, quota code L-E28BE5E0) in the target account",
    },
    /** No figure found in AWS's documentation available offline. */
    stagingAccountsPerTarget: {
        value: undefined,
        per: "target account",
        source: "https://docs.aws.amazon.com/general/latest/gr/drs.html",
        confirmed: false,
        note: "no quota on staging accounts per target was found in the AWS documentation available offline: check Service Quotas in the target account",
    },
    /** docs/aws-requirements.md, Limits. */
    keyPolicyBytes: {
        value: limits.keyPolicyBytes,
        per: "key policy",
        source: "https://docs.aws.amazon.com/kms/latest/developerguide/resource-limits.html",
        confirmed: true,
    },
    managedPolicyChars: {
        value: limits.managedPolicyChars,
        per: "customer managed IAM policy, whitespace excluded",
        source: "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html",
        confirmed: true,
    },
    managedPoliciesPerRole: {
        value: limits.managedPoliciesPerRole,
        per: "IAM role (default; up to 20 on request: target.maxPoliciesPerRole)",
        source: "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html",
        confirmed: true,
    },
} satisfies Record<string, Quota>;

/** A share of a quota at or over which the plan and verify warn. */
export const nearLimit = 0.9;

export interface StagingPlace {
    stack: string;
    accountId: string;
    region: string;
    /** The target accounts its key policy shares the key with. */
    targets: string[];
    capacity: number;
}

export interface TargetCapacity {
    accountId: string;
    region: string;
    stagingAccounts: string[];
    stagingPlaces: number;
    /** Servers the staging places can replicate, all of which may be extended into this target. */
    capacity: number;
    sourceServerQuota?: number;
}

export interface SizeUse {
    stack: string;
    name: string;
    accountId: string;
    region?: string;
    kind?: KeyKind;
    used: number;
    limit: number;
}

export interface Capacity {
    quotas: typeof quotas;
    staging: StagingPlace[];
    targets: TargetCapacity[];
    /** With --servers: the staging places the servers need against those the plan has. */
    servers?: { region?: string; servers: number; places: number; needed: number; capacity: number }[];
    keyPolicies: SizeUse[];
    keyUsePolicies: SizeUse[];
    /** Managed policies attached to each role in the plan (others attached outside it count too). */
    roles: { stack: string; accountId: string; role: string; attached: number; quota: number }[];
    /** Customer managed policies each permission set references (its role in the target holds them as managed policies). */
    permissionSets: { stack: string; permissionSet: string; policies: number; quota: number }[];
    /** What is at or over `nearLimit` of a quota, in words. */
    findings: string[];
}

/**
 * The quota of managed policies per role each target's config claims (target.maxPoliciesPerRole, or
 * that of each of targets[]), by the target's account; IAM's default for any other account.
 */
function policiesPerRole(config: Record<string, unknown> | undefined): (account: string) => number {
    const byAccount = new Map<string, number>();
    const targets = [config?.["drs-cross-account-kms:target"], ...[config?.["drs-cross-account-kms:targets"] ?? []].flat()];
    for (const t of targets as ({ accountId?: unknown; maxPoliciesPerRole?: unknown } | undefined)[]) {
        const n = Number(t?.maxPoliciesPerRole);
        if (typeof t?.accountId === "string" && Number.isInteger(n) && n > 0) byAccount.set(t.accountId, n);
    }
    return (account) => byAccount.get(account) ?? quotas.managedPoliciesPerRole.value;
}

/** How much of each quota the plan (and the plans it reads) uses, and with --servers what the servers need. */
export function capacityOf(result: SynthResult, servers?: ServerCount): Capacity {
    const keys = plannedKeys(result);
    const plans = plansOf(result);
    const perRole = policiesPerRole(result.config);
    const staging: StagingPlace[] = keys
        .filter((k) => k.kind === "DRS key")
        .map((k) => {
            const where = parseKeyArn(String(k.state.arn));
            const accountId = where?.accountId ?? "?";
            const policy = parsePolicyDocument(k.inputs.policy);
            return {
                stack: k.stack,
                accountId,
                region: where?.region ?? "?",
                targets: sharedWith(policy, accountId),
                capacity: quotas.replicatingServers.value,
            };
        })
        .sort((a, b) => a.accountId.localeCompare(b.accountId) || a.region.localeCompare(b.region));
    const targetPlaces = new Map<string, StagingPlace[]>();
    for (const place of staging)
        for (const t of place.targets)
            targetPlaces.set(`${t}/${place.region}`, [...(targetPlaces.get(`${t}/${place.region}`) ?? []), place]);
    const targets: TargetCapacity[] = [...targetPlaces]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([where, places]) => {
            const [accountId, region] = where.split("/");
            return {
                accountId,
                region,
                stagingAccounts: [...new Set(places.map((p) => p.accountId))],
                stagingPlaces: places.length,
                capacity: places.reduce((t, p) => t + p.capacity, 0),
                sourceServerQuota: quotas.sourceServers.value,
            };
        });
    const keyPolicies: SizeUse[] = keys.flatMap((k) => {
        const doc = parsePolicyDocument(k.inputs.policy);
        const where = parseKeyArn(String(k.state.arn));
        return doc
            ? [
                  {
                      stack: k.stack,
                      name: k.name,
                      accountId: where?.accountId ?? "?",
                      region: where?.region,
                      kind: k.kind,
                      used: keyPolicySize(doc),
                      limit: quotas.keyPolicyBytes.value,
                  },
              ]
            : [];
    });
    const keyUsePolicies: SizeUse[] = [];
    const roles: Capacity["roles"] = [];
    const permissionSets: Capacity["permissionSets"] = [];
    for (const plan of plans) {
        const attached = new Map<string, number>();
        // A role's account is its attachment's provider's (an AWS managed policy's ARN names no account).
        const accountByProvider = new Map(
            plan.resources
                .filter((r) => r.type.startsWith("pulumi:providers:"))
                .map((r) => [r.urn, providerAccountId(r.inputs.allowedAccountIds)]),
        );
        for (const r of plan.resources) {
            if (r.type === "aws:iam/policy:Policy") {
                const doc = parsePolicyDocument(r.inputs.policy);
                if (doc && mentionsKms(doc))
                    keyUsePolicies.push({
                        stack: plan.stack,
                        name: String(r.state.name ?? r.name),
                        accountId: accountOf(String(r.state.arn)) ?? "?",
                        used: managedPolicySize(doc),
                        limit: quotas.managedPolicyChars.value,
                    });
            }
            if (r.type === "aws:iam/rolePolicyAttachment:RolePolicyAttachment") {
                const account =
                    (r.provider ? accountByProvider.get(r.provider) : undefined) ?? accountOf(String(r.inputs.policyArn)) ?? "?";
                const key = `${account}/${r.inputs.role}`;
                attached.set(key, (attached.get(key) ?? 0) + 1);
            }
            if (r.type === "aws:ssoadmin/customerManagedPolicyAttachment:CustomerManagedPolicyAttachment") {
                const ps = String(r.inputs.permissionSetArn);
                const row = permissionSets.find((p) => p.stack === plan.stack && p.permissionSet === ps);
                if (row) row.policies++;
                else permissionSets.push({ stack: plan.stack, permissionSet: ps, policies: 1, quota: perRole("") });
            }
        }
        for (const [key, n] of [...attached].sort(([a], [b]) => a.localeCompare(b))) {
            const [accountId, role] = key.split("/");
            roles.push({ stack: plan.stack, accountId, role, attached: n, quota: perRole(accountId) });
        }
    }
    const capacity: Capacity = { quotas, staging, targets, keyPolicies, keyUsePolicies, roles, permissionSets, findings: [] };
    if (servers) capacity.servers = serverNeeds(staging, servers);
    capacity.findings = findingsOf(capacity);
    return capacity;
}

/** The accounts other than its own that a key policy lets use the key: the targets it is shared with. */
export function sharedWith(policy: PolicyDocument | undefined, ownAccount: string): string[] {
    const accounts = new Set<string>();
    for (const s of policy?.Statement ?? []) {
        if (s.Effect !== "Allow") continue;
        for (const p of awsPrincipals(s)) {
            const account = accountOf(p);
            if (account && account !== ownAccount) accounts.add(account);
        }
    }
    return [...accounts].sort();
}

const mentionsKms = (doc: PolicyDocument) => doc.Statement.some((s) => [s.Action].flat().some((a) => a.startsWith("kms:")));

function serverNeeds(staging: StagingPlace[], servers: ServerCount): NonNullable<Capacity["servers"]> {
    const per = quotas.replicatingServers.value;
    const row = (region: string | undefined, n: number) => {
        const places = staging.filter((p) => region === undefined || p.region === region).length;
        return { ...(region ? { region } : {}), servers: n, places, needed: Math.ceil(n / per), capacity: places * per };
    };
    if ("total" in servers) return [row(undefined, servers.total)];
    return Object.entries(servers.byRegion)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([region, n]) => row(region, n));
}

const percent = (used: number, limit: number) => `${Math.round((used / limit) * 100)}%`;
const n = (x: number) => x.toLocaleString("en-US");

function findingsOf(c: Capacity): string[] {
    const findings: string[] = [];
    const judge = (what: string, used: number, limit: number) => {
        if (used > limit) findings.push(`${what}: ${n(used)} of ${n(limit)}, over the limit.`);
        else if (used >= limit * nearLimit) findings.push(`${what}: ${n(used)} of ${n(limit)} (${percent(used, limit)}), near the limit.`);
    };
    for (const k of c.keyPolicies) judge(`key policy of ${k.accountId}/${k.region} ${k.kind}`, k.used, k.limit);
    for (const p of c.keyUsePolicies) judge(`key-use policy ${p.name}`, p.used, p.limit);
    for (const r of c.roles) judge(`managed policies on role ${r.role}`, r.attached, r.quota);
    for (const p of c.permissionSets) judge(`policies on permission set ${p.permissionSet}`, p.policies, p.quota);
    for (const t of c.targets)
        if (t.sourceServerQuota !== undefined)
            judge(`servers the staging places can extend into ${t.accountId}/${t.region}`, t.capacity, t.sourceServerQuota);
    for (const s of c.servers ?? [])
        if (s.servers > s.capacity)
            findings.push(
                `${n(s.servers)} servers${s.region ? ` in ${s.region}` : ""} need ${plural(s.needed, "staging account and Region", "staging accounts and Regions")} (${quotas.replicatingServers.value} each); the plan has ${s.places}: add ${s.needed - s.places}.`,
            );
    return findings;
}

/** The capacity in words, for the plan's text. */
export function formatCapacity(c: Capacity): string[] {
    const q = c.quotas;
    const lines = ["Capacity and quotas (the table and its sources: plan/quotas.ts):"];
    lines.push(
        `  Staging: ${plural(c.staging.length, "staging account and Region", "staging accounts and Regions")}, ${q.replicatingServers.value} replicating servers each (per ${q.replicatingServers.per}): ${n(c.staging.reduce((t, p) => t + p.capacity, 0))} in all.`,
    );
    for (const p of c.staging)
        lines.push(
            `    ${p.accountId}/${p.region} (stack ${p.stack}): shared with ${p.targets.length > 0 ? p.targets.join(", ") : "no other account"}`,
        );
    for (const t of c.targets) {
        const quota =
            t.sourceServerQuota === undefined
                ? ""
                : `; source servers per ${q.sourceServers.per}: ${n(t.sourceServerQuota)}${q.sourceServers.confirmed ? "" : " (unconfirmed: " + q.sourceServers.note + ")"}, ${percent(t.capacity, t.sourceServerQuota)} at most`;
        lines.push(
            `  Target ${t.accountId} in ${t.region}: ${plural(t.stagingAccounts.length, "staging account")} (${plural(t.stagingPlaces, "entry", "entries")} here) can extend up to ${n(t.capacity)} servers${quota}.`,
        );
    }
    const targetAccounts = [...new Set(c.targets.map((t) => t.accountId))];
    for (const t of targetAccounts) {
        const accounts = new Set(c.targets.filter((x) => x.accountId === t).flatMap((x) => x.stagingAccounts));
        lines.push(`  Staging accounts of target ${t}: ${accounts.size} (${q.stagingAccountsPerTarget.note}).`);
    }
    for (const s of c.servers ?? [])
        lines.push(
            `  --servers ${n(s.servers)}${s.region ? ` in ${s.region}` : ""}: ${plural(s.needed, "staging account and Region", "staging accounts and Regions")} needed, the plan has ${s.places} (${n(s.capacity)} servers): ${s.servers <= s.capacity ? "enough" : `short by ${n(s.servers - s.capacity)}`}.`,
        );
    if (c.keyPolicies.length > 0) {
        const largest = [...c.keyPolicies].sort((a, b) => b.used - a.used)[0];
        lines.push(
            `  Key policies: ${plural(c.keyPolicies.length, "key")}, the largest ${n(largest.used)} of ${n(largest.limit)} bytes (${percent(largest.used, largest.limit)}): ${largest.accountId}/${largest.region} ${largest.kind}.`,
        );
    }
    for (const p of c.keyUsePolicies)
        lines.push(`  Key-use policy ${p.name} (${p.accountId}): ${n(p.used)} of ${n(p.limit)} characters (${percent(p.used, p.limit)}).`);
    for (const r of c.roles)
        lines.push(
            `  Role ${r.role} (${r.accountId}): ${r.attached} of ${r.quota} managed policies from this plan; policies attached outside it count too.`,
        );
    for (const p of c.permissionSets)
        lines.push(
            `  Permission set ${p.permissionSet}: references ${plural(p.policies, "policy", "policies")}; its role in the target holds them as managed policies (${p.quota} per role).`,
        );
    lines.push(c.findings.length === 0 ? "  Nothing is near a limit." : `  Near or over a limit:`);
    for (const f of c.findings) lines.push(`    ${f}`);
    return lines;
}
