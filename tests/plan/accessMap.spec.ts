import { expect } from "chai";
import * as fs from "fs";
import * as path from "path";
import { PolicyDocument } from "../../components/policies";
import { accessMap, intersectActions, quote } from "../../plan/accessMap";
import { fleetProject } from "../support/fleet";
import { synthesize } from "../../plan/synth";
import { formatPlanText } from "../../plan/text";
import { spawnCli } from "../support/mocks";
import { PlannedResource, SynthResult } from "../../plan/plan";

const fixtures = path.join(__dirname, "..", "fixtures");
/** Two recovery accounts, as config/schema.ts's targets[] takes them. */
const twoTargetSettings = [
    { accountId: "111122223333", keyUserRoleNames: ["DrsRecoveryOperator"], maxPoliciesPerRole: 15 },
    { accountId: "777788889999", keyUserRoleNames: ["OtherOperator"] },
];
const id = "[A-Za-z0-9_]+";
const label = '"[^"\\n]*"';

/** The structure of the subset of Mermaid accessMap writes (plan/accessMap.ts): every line, and every edge's endpoints. */
function checkStructure(text: string): { nodes: Set<string>; edges: { from: string; to: string; label: string; dotted: boolean }[] } {
    const lines = text.trimEnd().split("\n");
    expect(lines[0]).to.equal("flowchart LR");
    const declared = new Set<string>();
    const edges: { from: string; to: string; label: string; dotted: boolean }[] = [];
    let depth = 0;
    for (const line of lines.slice(1)) {
        const subgraph = new RegExp(`^\\s*subgraph (${id})\\[(${label})\\]$`).exec(line);
        const node = new RegExp(`^\\s*(${id})\\[(${label})\\]$`).exec(line);
        const edge = new RegExp(`^\\s*(${id}) (-->|-\\.->)\\|(${label})\\| (${id})$`).exec(line);
        if (subgraph || node) {
            const name = (subgraph ?? node)![1];
            expect(declared.has(name), `${name} declared twice`).to.equal(false);
            expect(name).not.to.match(/^(end|subgraph|graph|flowchart|style|class|click|default)$/i);
            declared.add(name);
            if (subgraph) depth++;
        } else if (/^\s*end$/.test(line)) {
            depth--;
            expect(depth, "an end without its subgraph").to.be.at.least(0);
        } else if (edge) {
            edges.push({ from: edge[1], label: edge[3], to: edge[4], dotted: edge[2] === "-.->" });
        } else if (!/^\s*%%/.test(line)) {
            expect.fail(`not in the subset: ${line}`);
        }
    }
    expect(depth, "every subgraph ends").to.equal(0);
    for (const e of edges) {
        expect(declared.has(e.from), `edge from undeclared ${e.from}`).to.equal(true);
        expect(declared.has(e.to), `edge to undeclared ${e.to}`).to.equal(true);
    }
    // Inside quotes: no raw quote, angle bracket or backtick, and # only as an entity code.
    for (const l of text.match(new RegExp(label, "g")) ?? []) {
        expect(l.slice(1, -1)).not.to.match(/[<>`]/);
        expect(l.replace(/#(\d+|quot|lt|gt);/g, "")).not.to.include("#");
    }
    return { nodes: declared, edges };
}

/** The node ID whose label is exactly this. */
const nodeId = (text: string, words: string) =>
    new RegExp(`(${id})\\[${JSON.stringify(words).replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\\]`).exec(text)?.[1];
const edgeLabel = (text: string, from: string, to: string) => new RegExp(`^\\s*${from} -\\.?->\\|"([^"]*)"\\| ${to}$`, "m").exec(text)?.[1];

function compareFixture(name: string, text: string) {
    const file = path.join(fixtures, name);
    if (process.env.UPDATE_FIXTURES) fs.writeFileSync(file, text);
    expect(text, `${name}: run with UPDATE_FIXTURES=1 to accept a change`).to.equal(fs.readFileSync(file, "utf8"));
}

describe("access map (synth --format mermaid)", () => {
    let target: SynthResult;
    let staging: SynthResult;
    before(async () => {
        target = await synthesize("target");
        staging = await synthesize("staging");
    });

    it("keeps to the documented subset: safe IDs, quoted labels, every edge between declared nodes", () => {
        for (const result of [target, staging]) checkStructure(accessMap(result));
    });

    it("matches the snapshots of the shipped stacks", () => {
        compareFixture("access-map-target.mmd", accessMap(target));
        compareFixture("access-map-staging.mmd", accessMap(staging));
    });

    it("draws a subgraph per account, one node per key per Region, and the arrows of the key policy", () => {
        const text = accessMap(target);
        expect(text).to.include('subgraph a1["staging account 444455556666"]');
        expect(text).to.include('subgraph a2["target account 111122223333"]');
        expect(text).to.match(/subgraph a1k\["DRS keys"\]\n\s+k\d+\["us-east-1"\]\n\s+end/);
        expect(text).to.match(/subgraph a1t\["alert topic keys"\]\n\s+k\d+\["us-east-1"\]\n\s+end/);
        const key = /subgraph a1k\["DRS keys"\]\n\s+(k\d+)/.exec(text)![1];
        const role = nodeId(text, "role DrsRecoveryOperator")!;
        // The target role: what the key policy and its key-use policy allow together, and no more.
        expect(edgeLabel(text, role, key)).to.equal("ReEncrypt* via ec2.us-east-1; DescribeKey");
        expect(edgeLabel(text, nodeId(text, "role DRSStagingAccountRole_111122223333")!, key)).to.equal("ReEncrypt* via ec2.us-east-1");
        expect(edgeLabel(text, nodeId(text, "DRS service-linked role")!, key)).to.equal(
            "Decrypt, GenerateDataKey*, ReEncrypt* via ec2.us-east-1; CreateGrant via ec2.us-east-1 for AWS resources; DescribeKey",
        );
        expect(edgeLabel(text, nodeId(text, "DRS for 111122223333")!, nodeId(text, "role DRSStagingAccountRole_111122223333")!)).to.equal(
            "AssumeRole, SetSourceIdentity if aws:SourceArn like arn:aws:drs:*:*:source-server/*",
        );
        // The alerts: their rules watch the key, its policy and its grants; EventBridge may use the topic's key.
        const alerts = nodeId(text, "drift alerts (rules to SNS topic): us-east-1")!;
        expect(edgeLabel(text, key, alerts)).to.equal("DisableKey, ScheduleKeyDeletion, PutKeyPolicy, RevokeGrant, RetireGrant");
    });

    it("labels the alerts with the Regions of the rules that reach a topic: the one forwarding IAM's events from us-east-1 is not one", async () => {
        const entry = { accountId: "200000000000", region: "eu-west-1", replication: { stagingAreaSubnetId: "subnet-0123456789abcdef0" } };
        const dir = fleetProject(1, { stagingAccounts: [entry] });
        const plan = await synthesize("fleet", { projectDir: dir, configFile: path.join(dir, "Pulumi.fleet.yaml") });
        const rules = plan.plan.resources.filter((r) => r.type === "aws:cloudwatch/eventRule:EventRule");
        expect(rules.filter((r) => r.inputs.region === "us-east-1").map((r) => r.name)).to.deep.equal([
            "drs-200000000000-eu-west-1-alerts-forward",
        ]);
        const text = accessMap(plan);
        const alerts = nodeId(text, "drift alerts (rules to SNS topic): eu-west-1")!;
        const key = /subgraph a1k\["DRS keys"\]\n\s+(k\d+)\["eu-west-1"\]/.exec(text)![1];
        expect(edgeLabel(text, key, alerts)).to.equal("DisableKey, ScheduleKeyDeletion, PutKeyPolicy, RevokeGrant, RetireGrant");
    });

    it("draws a staging stack alone with the target's IAM principals, which still need an IAM policy there", () => {
        const text = accessMap(staging);
        const key = /subgraph a1k\["DRS keys"\]\n\s+(k\d+)/.exec(text)![1];
        expect(edgeLabel(text, nodeId(text, "IAM principals given an IAM policy here")!, key)).to.equal(
            "ReEncrypt* via ec2.us-east-1; DescribeKey",
        );
    });

    it("grants the target's roles only what both policies allow: ebs-shared-snapshots adds Decrypt and grants through EC2", async () => {
        const dir = fleetProject(1, { key: { targetAccess: "ebs-shared-snapshots" } });
        const text = accessMap(await synthesize("fleet", { projectDir: dir, configFile: path.join(dir, "Pulumi.fleet.yaml") }));
        const key = /subgraph a1k\["DRS keys"\]\n\s+(k\d+)/.exec(text)![1];
        expect(edgeLabel(text, nodeId(text, "role DrsRecoveryOperator")!, key)).to.equal(
            "ReEncrypt*, Decrypt, GenerateDataKey* via ec2.us-east-1; DescribeKey; CreateGrant via ec2.us-east-1 for AWS resources",
        );
    });

    it("stays readable at 100 entries: one arrow per principal and account's keys, under Mermaid's size limits", async () => {
        const dir = fleetProject(100);
        const text = accessMap(await synthesize("fleet", { projectDir: dir, configFile: path.join(dir, "Pulumi.fleet.yaml") }));
        const { edges } = checkStructure(text);
        // Mermaid's defaults: 50,000 characters of text and 500 edges.
        expect(text.length).to.be.below(50_000);
        expect(edges.length).to.be.below(500);
        const role = nodeId(text, "role DrsRecoveryOperator")!;
        const fromRole = edges.filter((e) => e.from === role);
        expect(fromRole).to.have.length(34); // one per staging account (100 entries: 33 accounts of 3 Regions and one of 1)
        expect(fromRole.every((e) => /^a\d+k$|^k\d+$/.test(e.to))).to.equal(true);
        expect(fromRole.filter((e) => e.label === '"3 keys: ReEncrypt* via ec2 in each key\'s Region; DescribeKey"')).to.have.length(33);
        expect(fromRole.filter((e) => e.label === '"ReEncrypt* via ec2.us-east-1; DescribeKey"')).to.have.length(1);
    });

    it("reads whatever targets the key policies name: two targets of one staging account, each through its own key-use policy", () => {
        const text = accessMap(twoTargets());
        checkStructure(text);
        const key = /subgraph a1k\["DRS keys"\]\n\s+(k\d+)/.exec(text)![1];
        expect(text).to.include('["target account 111122223333"]');
        expect(text).to.include('["target account 777788889999"]');
        for (const role of ["role RecoveryA", "role RecoveryB"])
            expect(edgeLabel(text, nodeId(text, role)!, key), role).to.equal("ReEncrypt* via ec2.us-east-1; DescribeKey");
        // A role whose policy names another key gets no arrow to this one.
        expect(nodeId(text, "role Unrelated")).to.equal(undefined);
        for (const t of ["111122223333", "777788889999"]) expect(text).to.include(`["DRS for ${t}"]`);
    });

    it("draws the program's own plan for two targets: a staging role and a key user in each, both on the same keys", async () => {
        const dir = fleetProject(2, { target: undefined, targets: twoTargetSettings });
        const text = accessMap(await synthesize("fleet", { projectDir: dir, configFile: path.join(dir, "Pulumi.fleet.yaml") }));
        checkStructure(text);
        expect(text).to.include('["target account 111122223333"]');
        expect(text).to.include('["target account 777788889999"]');
        for (const role of ["role DrsRecoveryOperator", "role OtherOperator"])
            expect(edgeLabel(text, nodeId(text, role)!, "a1k"), role).to.equal(
                "2 keys: ReEncrypt* via ec2 in each key's Region; DescribeKey",
            );
        for (const t of ["111122223333", "777788889999"])
            expect(edgeLabel(text, nodeId(text, `DRS for ${t}`)!, nodeId(text, `role DRSStagingAccountRole_${t}`)!), t).to.match(
                /^AssumeRole/,
            );
    });

    it("intersects actions with wildcards, keeping the narrower", () => {
        expect(intersectActions(["kms:*"], ["kms:ReEncrypt*", "kms:DescribeKey"])).to.deep.equal(["kms:ReEncrypt*", "kms:DescribeKey"]);
        expect(intersectActions(["kms:ReEncrypt*"], ["kms:ReEncryptFrom"])).to.deep.equal(["kms:ReEncryptFrom"]);
        expect(intersectActions(["kms:Decrypt"], ["kms:ReEncrypt*"])).to.deep.equal([]);
    });

    it("quotes labels, writing quotes, #, angle brackets and backticks as entity codes", () => {
        expect(quote('a "b" #1 <c> `d`\ne')).to.equal('"a #quot;b#quot; #35;1 #lt;c#gt; #96;d#96; e"');
    });

    it("is what synth --format mermaid prints; --json with it, or --servers, is refused", () => {
        const run = spawnCli("synth", "--stack", "target", "--format", "mermaid");
        expect(run.status, run.stderr).to.equal(0);
        expect(run.stdout).to.equal(fs.readFileSync(path.join(fixtures, "access-map-target.mmd"), "utf8"));
        const both = spawnCli("synth", "--stack", "target", "--format", "mermaid", "--json");
        expect([both.status, both.stderr]).to.deep.equal([2, "error: --json and --format mermaid contradict each other: give one.\n"]);
        const servers = spawnCli("synth", "--stack", "target", "--format", "mermaid", "--servers", "10");
        expect([servers.status, servers.stderr]).to.deep.equal([2, "error: --servers go with --format json or text, not mermaid.\n"]);
    });
});

/**
 * A plan as the multi-target work will produce it: one staging key whose policy names two targets,
 * a staging role for each, and a key-use policy in each target attached to a role there.
 */
function twoTargets(): SynthResult {
    const staging = "444455556666";
    const targets = ["111122223333", "777788889999"];
    const region = "us-east-1";
    const keyArn = `arn:aws:kms:${region}:${staging}:key/11111111-2222-3333-4444-555555555555`;
    const roleArn = (t: string) => `arn:aws:iam::${staging}:role/service-role/DRSStagingAccountRole_${t}`;
    // Written out, not built: the builders are changing to take several targets.
    const ec2 = { "kms:ViaService": `ec2.${region}.amazonaws.com` };
    const policy: PolicyDocument = {
        Version: "2012-10-17",
        Statement: [
            { Sid: "Admin", Effect: "Allow", Principal: { AWS: `arn:aws:iam::${staging}:root` }, Action: "kms:*", Resource: "*" },
            ...targets.flatMap((t, i) => [
                {
                    Sid: `StagingRole${i}`,
                    Effect: "Allow" as const,
                    Principal: { AWS: roleArn(t) },
                    Action: "kms:ReEncrypt*",
                    Resource: "*",
                    Condition: { StringEquals: { "kms:CallerAccount": staging, ...ec2 } },
                },
                {
                    Sid: `Target${i}`,
                    Effect: "Allow" as const,
                    Principal: { AWS: `arn:aws:iam::${t}:root` },
                    Action: "kms:ReEncrypt*",
                    Resource: "*",
                    Condition: { StringEquals: { "kms:CallerAccount": t, ...ec2 } },
                },
                {
                    Sid: `TargetDescribe${i}`,
                    Effect: "Allow" as const,
                    Principal: { AWS: `arn:aws:iam::${t}:root` },
                    Action: "kms:DescribeKey",
                    Resource: "*",
                    Condition: { StringEquals: { "kms:CallerAccount": t } },
                },
            ]),
        ],
    };
    const keyUse = (arn: string): PolicyDocument => ({
        Version: "2012-10-17",
        Statement: [
            { Sid: "Describe", Effect: "Allow", Action: "kms:DescribeKey", Resource: [arn] },
            { Sid: "Use", Effect: "Allow", Action: "kms:ReEncrypt*", Resource: [arn], Condition: { StringEquals: ec2 } },
        ],
    });
    const res = (type: string, name: string, inputs: Record<string, unknown>, state: Record<string, unknown>): PlannedResource => ({
        urn: `urn:pulumi:t::p::${type}::${name}`,
        type,
        name,
        inputs,
        state,
    });
    const resources: PlannedResource[] = [
        res(
            "aws:kms/key:Key",
            "key",
            { policy: JSON.stringify(policy), enableKeyRotation: true },
            { arn: keyArn, keyId: keyArn.split("/")[1] },
        ),
        ...targets.map((t) =>
            res(
                "aws:iam/role:Role",
                `role-${t}`,
                {
                    assumeRolePolicy: JSON.stringify({
                        Version: "2012-10-17",
                        Statement: [
                            {
                                Sid: "Trust",
                                Effect: "Allow",
                                Principal: { Service: "drs.amazonaws.com" },
                                Action: ["sts:AssumeRole", "sts:SetSourceIdentity"],
                                Condition: { StringEquals: { "aws:SourceAccount": t, "sts:SourceIdentity": t } },
                            },
                        ],
                    }),
                },
                { arn: roleArn(t) },
            ),
        ),
        ...targets.flatMap((t, i) => [
            res(
                "aws:iam/policy:Policy",
                `use-${t}`,
                { policy: JSON.stringify(keyUse(keyArn)) },
                { arn: `arn:aws:iam::${t}:policy/KeyUse`, name: "KeyUse" },
            ),
            res(
                "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
                `attach-${t}`,
                { role: i === 0 ? "RecoveryA" : "RecoveryB", policyArn: `arn:aws:iam::${t}:policy/KeyUse` },
                {},
            ),
        ]),
        res(
            "aws:iam/policy:Policy",
            "other",
            { policy: JSON.stringify(keyUse(keyArn.replace("11111111", "99999999"))) },
            { arn: "arn:aws:iam::777788889999:policy/Other", name: "Other" },
        ),
        res(
            "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
            "attach-other",
            { role: "Unrelated", policyArn: "arn:aws:iam::777788889999:policy/Other" },
            {},
        ),
    ];
    return {
        plan: { project: "p", stack: "t", secretConfigKeys: [], resources, outputs: { stagingKeys: [{ keyArn }] } },
        warnings: [],
        references: {},
    };
}

describe("the way back in the offline plan (failback)", () => {
    const origin = "555566667777";
    let result: Awaited<ReturnType<typeof synthesize>>;
    before(async () => {
        const dir = fleetProject(1, {
            stagingAccounts: [
                { accountId: "444455556666", region: "us-east-1", failback: { accountId: origin, networkReplication: true } },
                { accountId: "444455556666", region: "us-west-2", failback: {} },
                { accountId: "444455556666", region: "eu-west-1", failback: { to: "on-premises" } },
            ],
        });
        result = await synthesize("fleet", { projectDir: dir, configFile: path.join(dir, "Pulumi.fleet.yaml") });
    });

    it("shows the roles of each direction, and where the new source servers' key comes from", () => {
        const text = formatPlanText(result);
        const section = text.slice(text.indexOf("The way back (failback)"), text.indexOf("\nOutputs:"));
        expect(section.split("\n").slice(1, 6)).to.deep.equal([
            "  444455556666/us-east-1, recovered in 111122223333: back to 555566667777/us-east-1 by reverse replication",
            "    DRS initialised at 555566667777/us-east-1 (verify: failback-origin-drs; initialize --apply)",
            "    in 555566667777, for 111122223333 (the way back): DRSCrossAccountReplicationRole_111122223333, DRSCrossAccountAgentRole_111122223333, DRSCrossAccountAgentAuthorizedRole_111122223333 (verify: failback-roles)",
            "    in 111122223333, for 555566667777 (the way there: protection, and again after failback): DRSCrossAccountReplicationRole_555566667777, DRSCrossAccountAgentRole_555566667777, DRSCrossAccountAgentAuthorizedRole_555566667777 (verify: failback-roles)",
            "    in 555566667777, for 111122223333 (the way there: protection, and again after failback): DRSSourceNetworkRole (verify: source-network-roles)",
        ]);
        expect(section).to.include(
            "    in 111122223333, for 555566667777 (the way back): DRSSourceNetworkRole (verify: source-network-roles)",
        );
        expect(section).to.include(
            "the new source servers' key: the origin template's, a customer managed key for the origin's DRS (verify: failback-origin-key)",
        );
        // An origin that is the staging place itself: the stack's own key.
        expect(section).to.match(
            /us-west-2, recovered in 111122223333: back to 444455556666\/us-west-2 by reverse replication[\s\S]*the new source servers' key: arn:aws:kms:us-west-2:444455556666:key\/[\w-]+, this stack's key at the origin/,
        );
        expect(section).to.include("  444455556666/eu-west-1, recovered in 111122223333: back to on-premises with the DRS Failback Client");
        expect(section).to.include("holding arn:aws:iam::aws:policy/AWSElasticDisasterRecoveryFailbackInstallationPolicy");
    });

    it("draws the way back from the recovered servers to the origin, the stack's key, and on-premises", () => {
        const text = accessMap(result);
        checkStructure(text);
        const recovered = nodeId(text, "recovered servers (recovery instances)")!;
        expect(recovered).to.not.equal(undefined);
        const originNode = nodeId(text, "failback origin us-east-1: its template's key")!;
        expect(edgeLabel(text, recovered, originNode)).to.equal("the way back: reverse replication (DRS failback roles in both accounts)");
        expect(text).to.include(`["account ${origin}"]`);
        const westKey = new RegExp(`(k\\d+)\\["us-west-2"\\]`).exec(text)![1];
        expect(edgeLabel(text, recovered, westKey)).to.equal("the way back: reverse replication (DRS failback roles in both accounts)");
        const machines = nodeId(text, "on-premises machines (DRS Failback Client)")!;
        expect(edgeLabel(text, recovered, machines)).to.equal("the way back: Failback Client, with credentials of this account");
    });
});
