// The component plugin's entry (package.json "main", which Pulumi's Node.js plugin host loads from
// the folder): every component, launch settings included, for `pulumi package add`.
export * from "./index";
export * from "./launch";
