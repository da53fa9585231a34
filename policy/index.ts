// CrossGuard policy pack: `pulumi preview --policy-pack policy`. Every rule is mandatory.
import { PolicyPack } from "@pulumi/policy";
import { rules } from "./rules";

new PolicyPack("drs-cross-account-kms", {
    enforcementLevel: "mandatory",
    policies: rules.map((rule) => ({
        name: rule.name,
        description: rule.description,
        enforcementLevel: "mandatory",
        validateResource: (args, reportViolation) => {
            for (const message of rule.check({ type: args.type, props: args.props, providerProps: args.provider?.props }))
                reportViolation(message);
        },
    })),
});
