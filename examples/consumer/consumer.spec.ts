// Uses the package exactly as installed: compiled JavaScript and declarations, with only
// @pulumi/pulumi and @pulumi/aws beside it (no @pulumi/aws-native).
import * as pulumi from "@pulumi/pulumi";
import { expect } from "chai";
import { policies } from "drs-cross-account-kms";

interface Registered {
    type: string;
    name: string;
    inputs: Record<string, unknown>;
}

const registered: Registered[] = [];
/** Resolves once a resource of this type has been registered: the test awaits it instead of sleeping. */
const waiting = new Map<string, (r: Registered) => void>();
const registration = (type: string) =>
    new Promise<Registered>((resolve) => {
        const found = registered.find((r) => r.type === type);
        if (found) resolve(found);
        else waiting.set(type, resolve);
    });

describe("the packed components, used from another project", () => {
    before(async () => {
        await pulumi.runtime.setMocks(
            {
                newResource: (args) => {
                    const r = { type: args.type, name: args.name, inputs: args.inputs };
                    registered.push(r);
                    waiting.get(args.type)?.(r);
                    const state: Record<string, unknown> = { ...args.inputs };
                    if (args.type === "aws:kms/key:Key")
                        Object.assign(state, {
                            keyId: "k-1",
                            arn: "arn:aws:kms:eu-west-1:444455556666:key/11111111-2222-3333-4444-555555555555",
                        });
                    if (args.type === "aws:iam/role:Role")
                        Object.assign(state, {
                            arn: `arn:aws:iam::444455556666:role/service-role/${args.inputs.name}`,
                            uniqueId: "AROAEXAMPLE1234567890",
                        });
                    return { id: `${args.name}-id`, state };
                },
                call: (args) => {
                    throw new Error(`unexpected invoke ${args.token}`);
                },
            },
            "dr-keys-example",
            "test",
        );
    });

    it("creates the key with the caller's settings and a key policy from the package's builder", async () => {
        const { defineStaging } = await import("./staging");
        const outputs = defineStaging({ stagingAccountId: "444455556666", targetAccountId: "111122223333", region: "eu-west-1" });
        const keyArn = await new Promise((resolve) => outputs.keyArn.apply(resolve));
        expect(keyArn).to.equal("arn:aws:kms:eu-west-1:444455556666:key/11111111-2222-3333-4444-555555555555");
        expect(await new Promise((resolve) => outputs.aliasName.apply(resolve))).to.equal("alias/dr-ebs");
        const key = await registration("aws:kms/key:Key");
        expect(key.name).to.equal("dr-key-key");
        expect(JSON.parse(key.inputs.policy as string)).to.deep.equal(
            policies.buildKeyPolicy({
                stagingAccountId: "444455556666",
                targetAccountId: "111122223333",
                region: "eu-west-1",
                stagingRoleArn: "arn:aws:iam::444455556666:role/service-role/DRSStagingAccountRole_111122223333",
                stagingRoleUniqueId: "AROAEXAMPLE1234567890",
                targetAccess: "documented",
            }),
        );
        await registration("aws:kms/alias:Alias");
        expect(registered.map((r) => r.type)).to.include.members([
            "drs-cross-account-kms:index:DrsCrossAccountKey",
            "aws:kms/alias:Alias",
            "aws:iam/role:Role",
        ]);
    });

    it("loads @pulumi/aws-native only for the launch-settings subpath", () => {
        const nativeLoaded = () => Object.keys(require.cache).some((m) => m.includes("@pulumi/aws-native"));
        expect(nativeLoaded(), "the main entry loaded @pulumi/aws-native").to.equal(false);
        let installed = true;
        try {
            require.resolve("@pulumi/aws-native");
        } catch {
            installed = false;
        }
        // Without it (a project that does not use launch settings), the subpath says what is missing;
        // with it (inside the package's own repository, whose node_modules has it), the subpath loads it.
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const launch = () => require("drs-cross-account-kms/launch");
        if (installed) expect([typeof launch().DrsLaunchSettings, nativeLoaded()]).to.deep.equal(["function", true]);
        else expect(launch).to.throw(/Cannot find module '@pulumi\/aws-native'/);
    });
});
