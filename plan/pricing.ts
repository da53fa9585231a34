// What the plan costs a month: ONE table of list prices, each figure with the page it comes from
// and the date it was read (docs/cost-and-quotas.md), and the estimate the plan, verify and drill
// make from it. `--prices <file.json>` replaces any figure, checked as the `pricing` setting is.
import { kmsKeyTypes, parseKeyArn, partitionOf } from "../components/policies";
import { type Settings, readPricing } from "../config";
import { type PlannedResource, type SynthResult } from "./plan";
import { plural } from "../config/text";

/** A page a figure comes from, and when it was read. */
export interface PriceSource {
    url: string;
    /** The day the figure was read (YYYY-MM-DD). */
    read: string;
    what: string;
}

export interface PriceTable {
    currency: "USD";
    /** Whose prices: AWS's list prices, or the user's file. */
    origin: string;
    kms: {
        /** Each key a month: symmetric, multi-Region primary and each replica alike. */
        keyMonth: number;
        /** Each rotation of a key's material adds this a month... */
        rotationMonth: number;
        /** ...for this many rotations; later rotations add nothing. */
        billedRotations: number;
    };
    /**
     * DRS's own charge per replicating source server-hour, by Region ("*": every Region not
     * named). AWS publishes it per Region; the table holds none it could not source: give yours.
     */
    drsServerHour: Record<string, number>;
    /** The list prices are the aws partition's; keys in aws-cn and aws-us-gov are counted, not priced. */
    partitions: string[];
    sources: PriceSource[];
}

/** A month of 730 hours (365 days x 24 hours / 12). */
export const hoursPerMonth = 730;

/**
 * The list prices, read 2026-11-29 from the copies of AWS's pages available offline (the live
 * pages were not reachable). Check them, and put negotiated rates in a --prices file.
 */
export const listPrices: PriceTable = {
    currency: "USD",
    origin: "AWS list prices",
    kms: { keyMonth: 1, rotationMonth: 1, billedRotations: 2 },
    drsServerHour: {},
    partitions: ["aws"],
    sources: [
        {
            url: "https://aws.amazon.com/kms/pricing/",
            read: "2026-11-29",
            what: "$1 a month per KMS key, the same for each multi-Region primary and each replica; each rotation's new key material $1 a month more",
        },
        {
            url: "https://aws.amazon.com/blogs/security/the-curious-case-of-faster-aws-kms-symmetric-key-rotation/",
            read: "2026-11-29",
            what: "the price of a symmetric key stops rising after its second rotation (applies to existing keys too)",
        },
        {
            url: "https://aws.amazon.com/disaster-recovery/pricing/",
            read: "2026-11-29",
            what: "DRS bills per replicating source server-hour, per Region: no figure could be read offline; give yours with --prices (drsServerHour)",
        },
        {
            url: "https://aws.amazon.com/sns/pricing/",
            read: "2026-11-29",
            what: "topics have no monthly charge; publishes and deliveries are billed per request (key-loss alerts send a few a month)",
        },
        {
            url: "https://aws.amazon.com/eventbridge/pricing/",
            read: "2026-11-29",
            what: "rules have no monthly charge; the AWS service events they match on the default bus are not billed",
        },
    ],
};

/** A --prices file: any of the table's figures, the rest from the list prices. Its shape is the `pricing` setting's. */
export type PriceOverrides = NonNullable<Settings["pricing"]>;

/** Thrown for a --prices file that is not one: the CLI shows the message. */
export class PricesError extends Error {}

/** The list prices with a --prices file's figures over them, checked as the `pricing` setting is (config/schema.ts). */
export function pricesWith(overrides: unknown, file = "--prices"): PriceTable {
    if (overrides === null || typeof overrides !== "object" || Array.isArray(overrides))
        throw new PricesError(`${file}: not a JSON object of prices.`);
    const { pricing = {}, problems } = readPricing(overrides);
    if (problems.length > 0) throw new PricesError(`${file}: ${problems.join(" ")}`);
    const { origin = "AWS list prices, with the figures of a --prices file", kms, drsServerHour: drs } = pricing;
    const drsServerHour = typeof drs === "number" ? { "*": drs } : { ...listPrices.drsServerHour, ...drs };
    return { ...listPrices, origin, kms: { ...listPrices.kms, ...kms }, drsServerHour };
}

export const pricingConfigKey = "drs-cross-account-kms:pricing";

/** The prices a command uses: --prices, else the stack's `pricing` config, else the list prices. */
export function pricesFor(flag: PriceTable | undefined, configured: unknown): PriceTable {
    if (flag) return flag;
    if (configured === undefined) return listPrices;
    const table = pricesWith(configured, pricingConfigKey);
    return { ...table, origin: (configured as PriceOverrides).origin ?? `AWS list prices, with the figures of ${pricingConfigKey}` };
}

/** DRS's price per server-hour in a Region, if the table has one. */
export function drsPriceIn(prices: PriceTable, region: string): number | undefined {
    return prices.drsServerHour[region] ?? prices.drsServerHour["*"];
}

/** --servers: a total (`120`) or per Region (`us-east-1=100,eu-west-1=20`). */
export type ServerCount = { total: number } | { byRegion: Record<string, number> };

export function parseServerCount(values: string[] | string | undefined): ServerCount | undefined {
    if (values === undefined) return undefined;
    const parts = [values]
        .flat()
        .flatMap((v) => v.split(","))
        .map((v) => v.trim())
        .filter(Boolean);
    const count = (text: string) => {
        const n = Number(text);
        if (!/^\d+$/.test(text) || !Number.isSafeInteger(n)) throw new PricesError(`--servers ${text}: give a whole number of servers.`);
        return n;
    };
    if (parts.length === 1 && !parts[0].includes("=")) return { total: count(parts[0]) };
    const byRegion: Record<string, number> = {};
    for (const part of parts) {
        const [region, n, extra] = part.split("=");
        if (n === undefined || extra !== undefined || !/^[a-z]{2}(-gov)?-[a-z]+-\d+$/.test(region))
            throw new PricesError(`--servers ${part}: give a number, or <region>=<number> per Region (us-east-1=100,eu-west-1=20).`);
        if (region in byRegion) throw new PricesError(`--servers: ${region} was given twice.`);
        byRegion[region] = count(n);
    }
    return { byRegion };
}

export type KeyKind = "DRS key" | "alert topic key" | "key";

export interface KeyCost {
    stack: string;
    name: string;
    accountId: string;
    region: string;
    kind: KeyKind;
    multiRegion?: "primary" | "replica";
    /** Whether the key's material rotates (a replica rotates with its primary). */
    rotation: boolean;
    /** Days between rotations. */
    rotationPeriodDays: number;
    /** A month: now; after the first rotation; from the last billed rotation on. Undefined: not priced (another partition). */
    monthly?: { now: number; afterFirstRotation: number; steady: number };
}

export interface DrsCost {
    servers: ServerCount;
    /** Per Region: servers, the price per server-hour (if known), the month. */
    regions: { region: string; servers?: number; perServerHour?: number; monthly?: number }[];
    /** The month for all servers; a range when a total was given and Regions differ in price; absent when a price is missing. */
    monthly?: { min: number; max: number };
    note: string;
}

export interface CostEstimate {
    currency: "USD";
    origin: string;
    hoursPerMonth: number;
    sources: PriceSource[];
    keys: KeyCost[];
    kms: { keys: number; priced: number; rotating: number; monthly: { now: number; afterFirstRotation: number; steady: number } };
    /** Resources the plan creates that cost nothing a month at this volume, with why. */
    free: { type: string; what: string; count: number; why: string }[];
    drs?: DrsCost;
    notEstimated: string[];
}

/** What the plan creates at no monthly charge, singular and plural, and why. */
const free: Record<string, { one: string; many: string; why: string }> = {
    "aws:sns/topic:Topic": {
        one: "SNS topic",
        many: "SNS topics",
        why: "no monthly charge; the few alerts a month they send are free at this volume",
    },
    "aws:cloudwatch/eventRule:EventRule": {
        one: "EventBridge rule",
        many: "EventBridge rules",
        why: "no monthly charge; the AWS service events they match are not billed",
    },
    "aws:iam/role:Role": { one: "IAM role", many: "IAM roles", why: "IAM has no charge" },
    "aws:iam/policy:Policy": { one: "IAM policy", many: "IAM policies", why: "IAM has no charge" },
    "aws:kms/alias:Alias": { one: "KMS alias", many: "KMS aliases", why: "no charge beyond the key's" },
    "aws:drs/replicationConfigurationTemplate:ReplicationConfigurationTemplate": {
        one: "DRS replication template",
        many: "DRS replication templates",
        why: "DRS bills per replicating server, not per template",
    },
    "aws-native:drs:LaunchConfigurationTemplate": {
        one: "DRS launch template",
        many: "DRS launch templates",
        why: "DRS bills per replicating server, not per template",
    },
};

/** Every plan of a result, with its stack: the stack's own, then those it reads. */
export function plansOf(result: SynthResult): { stack: string; resources: PlannedResource[]; outputs: Record<string, unknown> }[] {
    const seen = new Set<string>();
    const out: { stack: string; resources: PlannedResource[]; outputs: Record<string, unknown> }[] = [];
    const walk = (r: SynthResult) => {
        if (seen.has(r.plan.stack)) return;
        seen.add(r.plan.stack);
        out.push({ stack: r.plan.stack, resources: r.plan.resources, outputs: r.plan.outputs });
        Object.values(r.references).forEach(walk);
    };
    walk(result);
    return out;
}

/** The keys of a plan, each with what it is for: a DRS key the stacks export, an alert topic's key, or another. */
export function plannedKeys(result: SynthResult): (PlannedResource & { stack: string; kind: KeyKind })[] {
    const plans = plansOf(result);
    const all = plans.flatMap((p) => p.resources.map((r) => ({ ...r, stack: p.stack })));
    const exported = new Set(
        plans.flatMap((p) => ((p.outputs.stagingKeys ?? []) as { keyArn?: string }[]).map((k) => k.keyArn).filter(Boolean) as string[]),
    );
    const topicKeys = new Set(all.filter((r) => r.type === "aws:sns/topic:Topic").map((r) => String(r.inputs.kmsMasterKeyId)));
    return all
        .filter((r) => (kmsKeyTypes as readonly string[]).includes(r.type))
        .map((r) => {
            const arn = String(r.state.arn);
            const kind: KeyKind = exported.has(arn) ? "DRS key" : topicKeys.has(arn) ? "alert topic key" : "key";
            return { ...r, kind };
        });
}

/** The monthly cost of the plan's keys and DRS's own charge for the servers given. */
export function estimateCost(result: SynthResult, prices: PriceTable = listPrices, servers?: ServerCount): CostEstimate {
    const keys = plannedKeys(result);
    const byArn = new Map(keys.map((k) => [String(k.state.arn), k]));
    const costs: KeyCost[] = keys.map((k) => {
        const where = parseKeyArn(String(k.state.arn));
        const region = where?.region ?? String(k.inputs.region ?? "?");
        const replica = k.type === "aws:kms/replicaKey:ReplicaKey";
        // A replica rotates with its primary (docs/aws-requirements.md, Multi-Region keys and adopting keys).
        const primary = replica ? byArn.get(String(k.inputs.primaryKeyArn)) : undefined;
        const rotating = replica ? (primary ? primary.inputs.enableKeyRotation !== false : true) : k.inputs.enableKeyRotation === true;
        const source = primary ?? k;
        const period = Number(source.inputs.rotationPeriodInDays ?? 365);
        const priced = prices.partitions.includes(isRegion(region) ? partitionOf(region) : "aws");
        const { keyMonth, rotationMonth, billedRotations } = prices.kms;
        const after = (rotations: number) => keyMonth + (rotating ? Math.min(rotations, billedRotations) * rotationMonth : 0);
        return {
            stack: k.stack,
            name: k.name,
            accountId: where?.accountId ?? "?",
            region,
            kind: k.kind,
            ...(replica ? { multiRegion: "replica" as const } : k.inputs.multiRegion ? { multiRegion: "primary" as const } : {}),
            rotation: rotating,
            rotationPeriodDays: period,
            ...(priced ? { monthly: { now: after(0), afterFirstRotation: after(1), steady: after(billedRotations) } } : {}),
        };
    });
    const sum = (pick: (m: NonNullable<KeyCost["monthly"]>) => number) =>
        round(costs.reduce((t, c) => t + (c.monthly ? pick(c.monthly) : 0), 0));
    const counts = new Map<string, number>();
    for (const plan of plansOf(result)) for (const r of plan.resources) if (free[r.type]) counts.set(r.type, (counts.get(r.type) ?? 0) + 1);
    const regions = [...new Set(costs.filter((c) => c.kind === "DRS key").map((c) => c.region))].sort();
    return {
        currency: prices.currency,
        origin: prices.origin,
        hoursPerMonth,
        sources: prices.sources,
        keys: costs,
        kms: {
            keys: costs.length,
            priced: costs.filter((c) => c.monthly).length,
            rotating: costs.filter((c) => c.rotation).length,
            monthly: { now: sum((m) => m.now), afterFirstRotation: sum((m) => m.afterFirstRotation), steady: sum((m) => m.steady) },
        },
        free: [...counts]
            .sort(([a], [b]) => a.localeCompare(b))
            .map(([type, count]) => ({ type, what: count === 1 ? free[type].one : free[type].many, count, why: free[type].why })),
        ...(servers ? { drs: drsCost(prices, servers, regions) } : {}),
        notEstimated: [
            "KMS requests (billed per request beyond the free tier)",
            "the staging area DRS runs per staging account and Region: replication servers (EC2), staging volumes and snapshots (EBS), which grow with the servers and their data",
            "drill and recovery instances in the target, while they run",
        ],
    };
}

/** DRS's own charge for `servers`, in the plan's Regions (or those the count names). */
export function drsCost(prices: PriceTable, servers: ServerCount, planRegions: string[]): DrsCost {
    const missing = (regions: string[]) =>
        `no DRS price for ${regions.join(", ")} in the table: give it with --prices ({"drsServerHour": {"<region>": <USD per server-hour>}}) from https://aws.amazon.com/disaster-recovery/pricing/`;
    if ("byRegion" in servers) {
        const regions = Object.entries(servers.byRegion)
            .sort(([a], [b]) => a.localeCompare(b))
            .map(([region, n]) => {
                const perServerHour = drsPriceIn(prices, region);
                return {
                    region,
                    servers: n,
                    perServerHour,
                    monthly: perServerHour === undefined ? undefined : round(n * perServerHour * hoursPerMonth),
                };
            });
        const unpriced = regions.filter((r) => r.monthly === undefined).map((r) => r.region);
        const total = round(regions.reduce((t, r) => t + (r.monthly ?? 0), 0));
        return {
            servers,
            regions,
            ...(unpriced.length === 0 ? { monthly: { min: total, max: total } } : {}),
            note: unpriced.length === 0 ? `${hoursPerMonth} hours a month per replicating server` : missing(unpriced),
        };
    }
    const regions = (planRegions.length > 0 ? planRegions : ["*"]).map((region) => {
        const perServerHour = drsPriceIn(prices, region);
        return {
            region,
            perServerHour,
            monthly: perServerHour === undefined ? undefined : round(servers.total * perServerHour * hoursPerMonth),
        };
    });
    const unpriced = regions.filter((r) => r.monthly === undefined).map((r) => r.region);
    const months = regions.map((r) => r.monthly ?? 0);
    const spread =
        regions.length > 1
            ? "; the servers' Regions are not given, so the range is all of them in the cheapest to all in the dearest (--servers <region>=<n>)"
            : "";
    return {
        servers,
        regions,
        ...(unpriced.length === 0 ? { monthly: { min: Math.min(...months), max: Math.max(...months) } } : {}),
        note: unpriced.length === 0 ? `${hoursPerMonth} hours a month per replicating server${spread}` : missing(unpriced),
    };
}

const isRegion = (region: string) => /^(us-gov|[a-z]{2})-[a-z]+-\d{1,2}$/.test(region);
const round = (n: number) => Math.round(n * 100) / 100;

/** $1,234.50 */
export function money(n: number): string {
    return `$${n.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
}

/** The estimate in words, for the plan's text. */
export function formatCost(cost: CostEstimate): string[] {
    const lines = [
        `Monthly cost (${cost.origin}, ${cost.currency}; the table and its sources: plan/pricing.ts, --prices replaces figures):`,
    ];
    const m = cost.kms.monthly;
    const kinds = (["DRS key", "alert topic key", "key"] as const)
        .map((kind) => [kind, cost.keys.filter((k) => k.kind === kind).length] as const)
        .filter(([, n]) => n > 0)
        .map(([kind, n]) => plural(n, kind));
    const replicas = cost.keys.filter((k) => k.multiRegion === "replica").length;
    lines.push(
        `  KMS keys: ${plural(cost.kms.keys, "key")} (${kinds.join(", ")}${replicas ? `; ${replicas} multi-Region ${replicas === 1 ? "replica is" : "replicas are"} billed as keys` : ""}), ${cost.kms.rotating} rotating:` +
            ` ${money(m.now)} now, ${money(m.afterFirstRotation)} after the first rotation, ${money(m.steady)} from the second on.`,
    );
    const byPlace = new Map<string, KeyCost[]>();
    for (const k of cost.keys)
        byPlace.set(`${k.stack}: ${k.accountId}/${k.region}`, [...(byPlace.get(`${k.stack}: ${k.accountId}/${k.region}`) ?? []), k]);
    for (const [place, keys] of [...byPlace].sort(([a], [b]) => a.localeCompare(b))) {
        const names = keys.map(
            (k) => `${k.multiRegion ? `${k.kind} (multi-Region ${k.multiRegion})` : k.kind}${k.rotation ? "" : " (no rotation)"}`,
        );
        const priced = keys.every((k) => k.monthly)
            ? money(keys.reduce((t, k) => t + k.monthly!.now, 0))
            : "not priced (another partition)";
        lines.push(`    ${place}: ${names.join(", ")}: ${priced} now`);
    }
    const periods = [...new Set(cost.keys.filter((k) => k.rotation).map((k) => k.rotationPeriodDays))];
    if (periods.length > 0)
        lines.push(`    rotation every ${periods.join(" or ")} days; a key's price stops rising after its second rotation.`);
    if (cost.kms.priced < cost.kms.keys)
        lines.push(
            `    ${cost.kms.keys - cost.kms.priced} keys are outside the table's partitions (${listPrices.partitions.join(", ")}): not priced.`,
        );
    for (const f of cost.free) lines.push(`  ${f.count} ${f.what}: $0 (${f.why}).`);
    if (cost.drs) {
        const d = cost.drs;
        const count =
            "total" in d.servers
                ? plural(d.servers.total, "server")
                : plural(
                      Object.values(d.servers.byRegion).reduce((a, b) => a + b, 0),
                      "server",
                  );
        const perRegion = d.regions
            .map(
                (r) =>
                    `${r.region === "*" ? "any Region" : r.region}${r.servers !== undefined ? ` ${r.servers}` : ""} at ${r.perServerHour === undefined ? "?" : `$${r.perServerHour}`}/server-hour`,
            )
            .join(", ");
        const month = d.monthly
            ? d.monthly.min === d.monthly.max
                ? money(d.monthly.min)
                : `${money(d.monthly.min)} to ${money(d.monthly.max)}`
            : "not priced";
        lines.push(
            `  DRS (shown apart: it grows with the servers, not the plan): ${count} replicating, ${perRegion}: ${month} a month (${d.note}).`,
        );
    } else {
        lines.push("  DRS: billed per replicating server-hour; --servers <n> (and a DRS price with --prices) shows it.");
    }
    lines.push(`  Not estimated: ${cost.notEstimated.join("; ")}.`);
    return lines;
}
