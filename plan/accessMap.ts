// Who may do what, as a Mermaid flowchart (`synth --format mermaid`): a subgraph per account, one
// node per key per Region, the principals that may use each key, the alerts, and arrows labelled by
// what each principal may do and through which service. The arrows come from the plan's own key
// policies, trust policies and key-use policies (cross-account use needs both the key policy and an
// IAM allow in the caller's account: docs/aws-requirements.md, Who calls KMS in the target), never
// from a fixed picture, so several targets per staging account draw as they are planned.
//
// The Mermaid written here is a small subset of the flowchart syntax, because nothing offline can
// check a flowchart (docs/offline-plan.md lists it): `flowchart LR`; `subgraph ID["label"]` ... `end`;
// nodes `ID["label"]`; edges `A -->|"label"| B` (may) and `A -.->|"label"| B` (watches, encrypted
// with); `%%` comments. IDs are letters, digits and underscores; every label is quoted, with `"`,
// `#`, `<`, `>` and backticks written as Mermaid entity codes.
import {
    PolicyDocument,
    PolicyStatement,
    accountOf,
    allowStatements,
    awsPrincipals,
    drsServiceLinkedRoleName,
    grantLossEvents,
    keyLossEvents,
    listOf,
    parseKeyArn,
    parsePolicyDocument,
    parseRoleArn,
} from "../components/policies";
import { KeyKind, plannedKeys, plansOf } from "./pricing";
import { type PlannedResource, type SynthResult } from "./plan";
import { PlannedWayBack, plannedWaysBack } from "./wayBack";

/** One thing a principal may do: actions, through which service, and under which further conditions. */
interface Grant {
    actions: string[];
    /** kms:ViaService, as `<service>.<region>`. */
    via?: { service: string; region: string };
    extras: string[];
}

interface MapNode {
    id: string;
    label: string;
    /** The account subgraph it stands in; undefined: outside every account. */
    account?: string;
    /** The key group subgraph, for keys. */
    group?: string;
}

interface MapKey extends MapNode {
    arn: string;
    keyId: string;
    region: string;
    kind: KeyKind;
}

interface Edge {
    from: string;
    to: string;
    style: "may" | "relates";
    grants: Grant[];
    /** For relations: the words. */
    words?: string;
}

const kindOrder: KeyKind[] = ["DRS key", "alert topic key", "key"];
const groupLabel: Record<KeyKind, string> = { "DRS key": "DRS keys", "alert topic key": "alert topic keys", key: "other keys" };

/** The picture of a plan and the plans it reads, as Mermaid flowchart text. */
export function accessMap(result: SynthResult): string {
    return new AccessMap(result).render();
}

class AccessMap {
    private readonly keys: MapKey[];
    private readonly nodes = new Map<string, MapNode>();
    private readonly edges: Edge[] = [];
    private readonly accounts = new Set<string>();
    private readonly resources: (PlannedResource & { stack: string })[];
    private counter = 0;

    constructor(result: SynthResult) {
        this.resources = plansOf(result).flatMap((p) => p.resources.map((r) => ({ ...r, stack: p.stack })));
        const planned = plannedKeys(result)
            .map((k) => {
                const where = parseKeyArn(String(k.state.arn));
                return { k, where };
            })
            .filter((x) => x.where)
            .sort(
                (a, b) =>
                    a.where!.accountId.localeCompare(b.where!.accountId) ||
                    kindOrder.indexOf(a.k.kind) - kindOrder.indexOf(b.k.kind) ||
                    a.where!.region.localeCompare(b.where!.region) ||
                    String(a.k.state.arn).localeCompare(String(b.k.state.arn)),
            );
        for (const { where } of planned) this.accounts.add(where!.accountId);
        for (const account of [...this.accounts].sort()) this.accountId(account);
        this.keys = planned.map(({ k, where }) => {
            const multi = k.type === "aws:kms/replicaKey:ReplicaKey" ? " replica" : k.inputs.multiRegion ? " multi-Region primary" : "";
            const key: MapKey = {
                id: this.nextId("k"),
                label: `${where!.region}${multi}`,
                account: where!.accountId,
                group: `${this.accountId(where!.accountId)}${groupSuffix[k.kind]}`,
                arn: String(k.state.arn),
                keyId: String(k.state.keyId ?? where!.keyId),
                region: where!.region,
                kind: k.kind,
            };
            return key;
        });
        for (const key of this.keys) this.nodes.set(key.id, key);
        const byArn = new Map(planned.map(({ k }) => [String(k.state.arn), k]));
        for (const key of this.keys) {
            const doc = parsePolicyDocument(byArn.get(key.arn)!.inputs.policy);
            if (doc) this.keyPolicyEdges(key, doc);
        }
        this.trustEdges();
        this.alertEdges();
        for (const plan of plansOf(result)) this.wayBackEdges(plannedWaysBack(plan.outputs));
    }

    /** The way back of each key with a failback setting: from the servers recovered in a target to where they return. */
    private wayBackEdges(ways: PlannedWayBack[]): void {
        for (const way of ways) {
            const recovered = this.principal(
                `recovered:${way.targetAccountId}`,
                "recovered servers (recovery instances)",
                way.targetAccountId,
            );
            if (way.back.to === "on-premises") {
                const machines = this.principal("on-premises", "on-premises machines (DRS Failback Client)");
                this.relate(recovered, machines, "the way back: Failback Client, with credentials of this account");
                continue;
            }
            const origin = way.back.originAccountId!;
            const key = way.originKeyArn && this.keys.find((k) => k.arn === way.originKeyArn);
            const to = key
                ? key.id
                : this.principal(
                      `origin:${origin}/${way.back.originRegion}`,
                      `failback origin ${way.back.originRegion}: its template's key`,
                      origin,
                  );
            this.relate(recovered, to, "the way back: reverse replication (DRS failback roles in both accounts)");
        }
    }

    private readonly accountIds = new Map<string, string>();

    /** An account's subgraph ID: a1, a2, ... in the order of the account IDs. */
    private accountId(account: string): string {
        if (!this.accountIds.has(account)) this.accountIds.set(account, `a${this.accountIds.size + 1}`);
        return this.accountIds.get(account)!;
    }

    private nextId(prefix: string): string {
        return `${prefix}${++this.counter}`;
    }

    /** The node of a principal, made once: by a stable key, in an account (or outside all). */
    private principal(key: string, label: string, account?: string): string {
        const existing = this.nodes.get(key);
        if (existing) return existing.id;
        const node = { id: this.nextId("p"), label, account };
        this.nodes.set(key, node);
        if (account) this.accounts.add(account);
        return node.id;
    }

    private addEdge(from: string, to: string, grants: Grant[]): void {
        if (grants.length === 0) return;
        const edge = this.edges.find((e) => e.from === from && e.to === to && e.style === "may");
        if (edge) edge.grants.push(...grants);
        else this.edges.push({ from, to, style: "may", grants: [...grants] });
    }

    private relate(from: string, to: string, words: string): void {
        if (!this.edges.some((e) => e.from === from && e.to === to && e.style === "relates"))
            this.edges.push({ from, to, style: "relates", grants: [], words });
    }

    /** Every Allow statement of a key policy, as arrows from the principals that may act on it. */
    private keyPolicyEdges(key: MapKey, doc: PolicyDocument): void {
        for (const s of allowStatements(doc)) {
            const principal = s.Principal as unknown;
            if (principal && typeof principal === "object" && "Service" in principal) {
                for (const service of listOf((principal as { Service: string | string[] }).Service)) {
                    const source = conditionValue(s, "aws:SourceAccount");
                    const alerts = service === "events.amazonaws.com" && source ? this.alertsNodeKey(source) : undefined;
                    const node = alerts
                        ? this.nodes.get(alerts)!.id
                        : this.principal(`service:${service}:${source ?? ""}`, `${service}${source ? ` for ${source}` : ""}`, source);
                    const grant = grantOf(s, source);
                    if (alerts) grant.extras.push("by EventBridge");
                    this.addEdge(node, key.id, [grant]);
                }
                continue;
            }
            for (const p of awsPrincipals(s)) {
                const account = accountOf(p);
                if (p === "*" || !account) {
                    this.addEdge(this.principal("anyone", "any principal"), key.id, [grantOf(s)]);
                    continue;
                }
                const root = /^arn:[\w-]+:iam::\d{12}:root$/.test(p) || /^\d{12}$/.test(p);
                if (account === key.account) {
                    // The key's own account: the key policy alone decides (for its root, through IAM policies).
                    const id = root
                        ? this.principal(`admins:${account}`, "IAM principals (by their IAM policies)", account)
                        : this.principal(`role:${p}`, roleLabel(p), account);
                    this.addEdge(id, key.id, [grantOf(s, account)]);
                    continue;
                }
                // Another account: each identity there needs an IAM allow too (docs/aws-requirements.md, Who calls KMS in the target).
                const identities = this.identitiesIn(account, root ? undefined : p);
                if (identities.length === 0) {
                    const id = root
                        ? this.principal(`admins:${account}`, "IAM principals given an IAM policy here", account)
                        : this.principal(`role:${p}`, `${roleLabel(p)} (with an IAM policy here)`, account);
                    this.addEdge(id, key.id, [grantOf(s, account)]);
                    continue;
                }
                for (const identity of identities) {
                    const grants = identity.policies.flatMap((doc) =>
                        allowStatements(doc)
                            .filter((t) => coversResource(t, key.arn))
                            .flatMap((t) => intersect(s, t, account)),
                    );
                    if (grants.length > 0) this.addEdge(this.principal(identity.key, identity.label, account), key.id, grants);
                }
            }
        }
    }

    /**
     * The identities of an account that hold IAM policies in the plan: roles with attached policies,
     * and Identity Center permission sets that reference policies by name (their role in the account
     * holds them). Only `roleArn`, when a key policy names one role.
     */
    private readonly identities = new Map<string, { key: string; label: string; policies: PolicyDocument[] }[]>();

    private identitiesIn(account: string, roleArn?: string): { key: string; label: string; policies: PolicyDocument[] }[] {
        const cacheKey = `${account} ${roleArn ?? ""}`;
        if (!this.identities.has(cacheKey)) this.identities.set(cacheKey, this.findIdentities(account, roleArn));
        return this.identities.get(cacheKey)!;
    }

    private findIdentities(account: string, roleArn?: string): { key: string; label: string; policies: PolicyDocument[] }[] {
        const policies = new Map<string, { name: string; path: string; doc: PolicyDocument }>();
        for (const r of this.resources) {
            if (r.type !== "aws:iam/policy:Policy" || accountOf(String(r.state.arn)) !== account) continue;
            const doc = parsePolicyDocument(r.inputs.policy);
            if (doc) policies.set(String(r.state.arn), { name: String(r.state.name ?? r.name), path: String(r.inputs.path ?? "/"), doc });
        }
        const out = new Map<string, { key: string; label: string; policies: PolicyDocument[] }>();
        const add = (key: string, label: string, doc: PolicyDocument) => {
            const entry = out.get(key) ?? { key, label, policies: [] };
            entry.policies.push(doc);
            out.set(key, entry);
        };
        for (const r of this.resources) {
            if (r.type === "aws:iam/rolePolicyAttachment:RolePolicyAttachment") {
                const policy = policies.get(String(r.inputs.policyArn));
                const role = String(r.inputs.role);
                if (!policy) continue;
                if (roleArn && parseRoleArn(roleArn)?.name !== role.split("/").pop()) continue;
                add(`role:${account}:${role}`, `role ${role}`, policy.doc);
            }
            if (r.type === "aws:ssoadmin/customerManagedPolicyAttachment:CustomerManagedPolicyAttachment" && !roleArn) {
                const ref = r.inputs.customerManagedPolicyReference as { name?: string; path?: string } | undefined;
                const policy = [...policies.values()].find((p) => p.name === ref?.name && p.path === (ref?.path ?? "/"));
                if (!policy) continue;
                const ps = String(r.inputs.permissionSetArn);
                add(`ps:${account}:${ps}`, `permission set ${ps.split("/").pop()}`, policy.doc);
            }
        }
        return [...out.values()].sort((a, b) => a.key.localeCompare(b.key));
    }

    /** Trust policies of the roles on the map: who may assume them, through which service. */
    private trustEdges(): void {
        for (const r of this.resources) {
            if (r.type !== "aws:iam/role:Role") continue;
            const node = this.nodes.get(`role:${r.state.arn}`);
            const doc = parsePolicyDocument(r.inputs.assumeRolePolicy);
            if (!node || !doc) continue;
            for (const s of allowStatements(doc)) {
                const principal = s.Principal as unknown;
                if (!principal || typeof principal !== "object" || !("Service" in principal)) continue;
                for (const service of listOf((principal as { Service: string | string[] }).Service)) {
                    const source = conditionValue(s, "aws:SourceAccount");
                    const label =
                        service === "drs.amazonaws.com" && source ? `DRS for ${source}` : `${service}${source ? ` for ${source}` : ""}`;
                    this.addEdge(this.principal(`service:${service}:${source ?? ""}`, label, source), node.id, [grantOf(s, source)]);
                }
            }
        }
    }

    private alertsNodeKey(account: string): string | undefined {
        const key = `alerts:${account}`;
        if (this.nodes.has(key)) return key;
        // The Regions of the rules that deliver to a topic: a rule forwarding IAM's events to another Region is not an alert.
        const regions = this.resources
            .filter((r) => r.type === "aws:cloudwatch/eventRule:EventRule" && accountOf(String(r.state.arn)) === account)
            .filter((r) => this.targetsOf(r).some((t) => /^arn:[^:]+:sns:/.test(String(t.inputs.arn))))
            .map((r) => String(r.inputs.region ?? String(r.state.arn).split(":")[3] ?? "?"));
        if (regions.length === 0) return undefined;
        this.nodes.set(key, {
            id: this.nextId("l"),
            label: `drift alerts (rules to SNS topic): ${[...new Set(regions)].sort().join(", ")}`,
            account,
        });
        return key;
    }

    private targetsOf(rule: PlannedResource): PlannedResource[] {
        return this.resources.filter((t) => t.type === "aws:cloudwatch/eventTarget:EventTarget" && t.inputs.rule === rule.state.name);
    }

    /**
     * Each rule that watches a key (by key ID or ARN in the request, or the key's ARN among the
     * event's resources) sends its events to a topic, which a key may encrypt. One arrow per key,
     * with every event the rules watch on it.
     */
    private alertEdges(): void {
        const watching = new Map<string, { key: MapKey; alerts: string; events: string[] }>();
        const encrypting: { alerts: string; key: string }[] = [];
        const rules = this.resources.filter((r) => r.type === "aws:cloudwatch/eventRule:EventRule");
        for (const rule of rules) {
            const account = accountOf(String(rule.state.arn));
            if (!account) continue;
            let pattern: { detail?: { eventName?: string[]; requestParameters?: { keyId?: string[] }; resources?: { ARN?: string[] } } } =
                {};
            try {
                pattern = JSON.parse(String(rule.inputs.eventPattern));
            } catch {
                continue;
            }
            const ids = [...(pattern.detail?.requestParameters?.keyId ?? []), ...(pattern.detail?.resources?.ARN ?? [])];
            const watched = this.keys.filter((k) => ids.includes(k.arn) || ids.includes(k.keyId));
            if (watched.length === 0) continue;
            const alerts = this.nodes.get(this.alertsNodeKey(account)!)!;
            for (const key of watched) {
                const seen = watching.get(key.id) ?? { key, alerts: alerts.id, events: [] };
                seen.events.push(...(pattern.detail?.eventName ?? []));
                watching.set(key.id, seen);
            }
            for (const target of this.targetsOf(rule)) {
                const topic = this.resources.find((t) => t.type === "aws:sns/topic:Topic" && t.state.arn === target.inputs.arn);
                const key = this.keys.find((k) => topic && k.arn === topic.inputs.kmsMasterKeyId);
                if (key) encrypting.push({ alerts: alerts.id, key: key.id });
            }
        }
        // The key's own events first, in the order the alerts list them, then any other.
        const order: string[] = [...keyLossEvents, ...grantLossEvents];
        const rank = (event: string) => (order.includes(event) ? order.indexOf(event) : order.length);
        for (const { key, alerts, events } of watching.values()) {
            const named = [...new Set(events)].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
            this.relate(key.id, alerts, named.join(", ") || "events");
        }
        for (const { alerts, key } of encrypting) this.relate(alerts, key, "topic encrypted with");
    }

    render(): string {
        const lines = ["flowchart LR"];
        const edges = this.collapsed();
        const accounts = [...this.accounts].sort();
        const accountIds = new Map(accounts.map((a) => [a, this.accountId(a)]));
        const hasKeys = (a: string) => this.keys.some((k) => k.account === a && k.kind === "DRS key");
        const isTarget = (a: string) =>
            !hasKeys(a) &&
            [...this.nodes.keys()].some(
                (k) => (k.startsWith("role:") || k.startsWith("ps:") || k.startsWith("admins:")) && this.nodes.get(k)!.account === a,
            );
        // Two spaces a level: a large map stays under Mermaid's default limit on text size (50,000 characters).
        for (const account of accounts) {
            const title = hasKeys(account) ? "staging account" : isTarget(account) ? "target account" : "account";
            lines.push(`  subgraph ${accountIds.get(account)}[${quote(`${title} ${account}`)}]`);
            for (const kind of kindOrder) {
                const keys = this.keys.filter((k) => k.account === account && k.kind === kind);
                if (keys.length === 0) continue;
                lines.push(`    subgraph ${accountIds.get(account)}${groupSuffix[kind]}[${quote(groupLabel[kind])}]`);
                for (const k of keys) lines.push(`      ${k.id}[${quote(k.label)}]`);
                lines.push("    end");
            }
            for (const node of this.otherNodes().filter((n) => n.account === account)) lines.push(`    ${node.id}[${quote(node.label)}]`);
            lines.push("  end");
        }
        for (const node of this.otherNodes().filter((n) => n.account === undefined || !accountIds.has(n.account)))
            lines.push(`  ${node.id}[${quote(node.label)}]`);
        for (const e of edges) lines.push(`  ${e.from} ${e.style === "may" ? "-->" : "-.->"}|${quote(e.words ?? "")}| ${e.to}`);
        return `${lines.join("\n")}\n`;
    }

    private otherNodes(): MapNode[] {
        return [...this.nodes.values()]
            .filter((n) => !n.id.startsWith("k"))
            .sort((a, b) => a.label.localeCompare(b.label) || a.id.localeCompare(b.id));
    }

    /**
     * The edges as drawn: a principal's arrows to every key of a key group (two or more keys), all
     * alike once each key's own Region is read as "the key's Region", become one arrow to the group.
     */
    private collapsed(): Edge[] {
        const keyOf = new Map(this.keys.map((k) => [k.id, k]));
        const out: Edge[] = [];
        const byFromGroup = new Map<string, Edge[]>();
        for (const e of this.edges) {
            const key = keyOf.get(e.to);
            const from = keyOf.get(e.from);
            if (key && !from) {
                const k = `${e.from} ${e.style} ${key.group}`;
                byFromGroup.set(k, [...(byFromGroup.get(k) ?? []), e]);
            } else if (from && !key) {
                const k = `${from.group} ${e.style} ${e.to}`;
                byFromGroup.set(k, [...(byFromGroup.get(k) ?? []), e]);
            } else out.push({ ...e, words: e.words ?? label(e.grants) });
        }
        for (const edges of byFromGroup.values()) {
            const toGroup = keyOf.has(edges[0].to);
            const group = toGroup ? keyOf.get(edges[0].to)!.group! : keyOf.get(edges[0].from)!.group!;
            const members = this.keys.filter((x) => x.group === group);
            const words = edges.map((e) => e.words ?? label(e.grants, keyOf.get(toGroup ? e.to : e.from)!.region));
            const exact = edges.map((e) => e.words ?? label(e.grants));
            if (members.length > 1 && edges.length === members.length && words.every((w) => w === words[0])) {
                out.push({
                    ...edges[0],
                    from: toGroup ? edges[0].from : group,
                    to: toGroup ? group : edges[0].to,
                    words: `${members.length} keys: ${words[0]}`,
                });
            } else edges.forEach((e, i) => out.push({ ...e, words: exact[i] }));
        }
        return out.sort(
            (a, b) => a.from.localeCompare(b.from, "en", { numeric: true }) || a.to.localeCompare(b.to, "en", { numeric: true }),
        );
    }
}

const groupSuffix: Record<KeyKind, string> = { "DRS key": "k", "alert topic key": "t", key: "o" };

function roleLabel(arn: string): string {
    const role = parseRoleArn(arn);
    if (!role) return arn;
    return role.name === drsServiceLinkedRoleName ? "DRS service-linked role" : `role ${role.name}`;
}

function conditionValue(s: PolicyStatement, key: string): string | undefined {
    for (const values of Object.values(s.Condition ?? {})) {
        const v = values[key];
        if (v !== undefined) return [v].flat().join(" or ");
    }
    return undefined;
}

/**
 * A statement's actions and conditions as a grant for a principal of `ownAccount`: conditions that
 * only restate that account (kms:CallerAccount, aws:SourceAccount, sts:SourceIdentity) are implied by
 * where its node stands and left out.
 */
function grantOf(s: PolicyStatement, ownAccount?: string): Grant {
    const grant: Grant = { actions: listOf(s.Action), extras: [] };
    for (const [operator, values] of Object.entries(s.Condition ?? {})) {
        for (const [key, value] of Object.entries(values)) {
            const v = [value].flat().join(" or ");
            if (key === "kms:ViaService") {
                const m = /^([\w-]+)\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?$/.exec(v);
                grant.via = m ? { service: m[1], region: m[2] } : { service: v, region: "" };
            } else if (["kms:CallerAccount", "aws:SourceAccount", "sts:SourceIdentity"].includes(key) && v === ownAccount) continue;
            else if (key === "kms:CallerAccount") grant.extras.push(`as ${v}`);
            else if (key === "kms:GrantIsForAWSResource") grant.extras.push(v === "true" ? "for AWS resources" : `if ${key} ${v}`);
            else grant.extras.push(`if ${key}${/Like$|LikeIfExists$/.test(operator) ? " like" : ""} ${v}`);
        }
    }
    return grant;
}

/** Whether an identity statement's Resource covers a key. */
function coversResource(t: PolicyStatement, keyArn: string): boolean {
    // Exact ARNs first: a large fleet's key-use policies name hundreds, and a pattern per ARN is slow.
    return listOf(t.Resource).some((r) => r === "*" || r === keyArn || (r.includes("*") && pattern(r).test(keyArn)));
}

const pattern = (a: string) => new RegExp(`^${a.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*")}$`, "i");

/** Actions both lists allow, each in the narrower form: kms:* with kms:ReEncrypt* is kms:ReEncrypt*. */
export function intersectActions(a: string[], b: string[]): string[] {
    const out: string[] = [];
    for (const x of a)
        for (const y of b) {
            const both = pattern(x).test(y) ? y : pattern(y).test(x) ? x : undefined;
            if (both && !out.includes(both)) out.push(both);
        }
    return out;
}

/** What a key policy statement and an identity statement allow together; none when their services differ. */
function intersect(s: PolicyStatement, t: PolicyStatement, account: string): Grant[] {
    const a = grantOf(s, account);
    const b = grantOf(t, account);
    const actions = intersectActions(a.actions, b.actions);
    if (actions.length === 0) return [];
    if (a.via && b.via && (a.via.service !== b.via.service || a.via.region !== b.via.region)) return [];
    // kms:GrantIsForAWSResource only ever applies to the grant operations (IfExists leaves the others alone).
    const grants = actions.some((x) => pattern(x).test("kms:CreateGrant"));
    const extras = [...new Set([...a.extras, ...b.extras])].filter((e) => grants || e !== "for AWS resources");
    return [{ actions, via: a.via ?? b.via, extras }];
}

/** "ReEncrypt* via ec2.us-east-1; DescribeKey": grants with the same service and conditions merged. */
function label(grants: Grant[], keyRegion?: string): string {
    const merged: Grant[] = [];
    for (const g of grants) {
        const same = merged.find((m) => viaWords(m, keyRegion) === viaWords(g, keyRegion) && m.extras.join() === g.extras.join());
        if (!same) merged.push({ ...g, actions: [...g.actions] });
        else for (const a of g.actions) if (!same.actions.includes(a)) same.actions.push(a);
    }
    return merged
        .map((g) => [g.actions.map(shortAction).join(", "), viaWords(g, keyRegion), ...g.extras].filter(Boolean).join(" "))
        .join("; ");
}

function viaWords(g: Grant, keyRegion?: string): string {
    if (!g.via) return "";
    if (keyRegion !== undefined && g.via.region === keyRegion) return `via ${g.via.service} in each key's Region`;
    return `via ${g.via.region ? `${g.via.service}.${g.via.region}` : g.via.service}`;
}

const shortAction = (a: string) => (/^[\w-]+:\*$/.test(a) ? a : a.replace(/^[\w-]+:/, ""));

/** A quoted Mermaid label: `"`, `#`, `<`, `>` and backticks as entity codes, on one line. */
export function quote(text: string): string {
    const escaped = text
        .replace(/\s+/g, " ")
        .replace(/#/g, "#35;")
        .replace(/"/g, "#quot;")
        .replace(/</g, "#lt;")
        .replace(/>/g, "#gt;")
        .replace(/`/g, "#96;");
    return `"${escaped}"`;
}
