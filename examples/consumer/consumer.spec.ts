// Uses the package exactly as installed from its tarball: compiled JavaScript and declarations.
import * as pulumi from "@pulumi/pulumi";
import { expect } from "chai";
import { policies } from "drs-cross-account-kms";

const registered: { type: string; name: string; inputs: Record<string, unknown> }[] = [];

describe("the packed components, used from another project", () => {
    before(async () => {
        await pulumi.runtime.setMocks(
            {
                newResource: (args) => {
                    registered.push({ type: args.type, name: args.name, inputs: args.inputs });
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
            "consumer",
            "test",
        );
    });

    it("creates the key with the caller's settings and a key policy from the package's builder", async () => {
        const { defineStaging } = await import("./index");
        const outputs = defineStaging();
        const keyArn = await new Promise((resolve) => outputs.keyArn.apply(resolve));
        expect(keyArn).to.equal("arn:aws:kms:eu-west-1:444455556666:key/11111111-2222-3333-4444-555555555555");
        expect(await new Promise((resolve) => outputs.aliasName.apply(resolve))).to.equal("alias/dr-ebs");
        await new Promise((resolve) => setTimeout(resolve, 100));
        const key = registered.find((r) => r.type === "aws:kms/key:Key")!;
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
        expect(registered.map((r) => r.type)).to.include.members([
            "drs-cross-account-kms:index:DrsCrossAccountKey",
            "aws:kms/alias:Alias",
            "aws:iam/role:Role",
        ]);
    });
});
