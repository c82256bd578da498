// Where scimmy's schema declarations read RFC 7643 differently from the RFC, we correct the
// declarations once, when the resources are declared (resources.ts), so every read, write and
// PATCH follows the same rules:
// - `schemas` is in every representation of a resource (RFC 7643 §3: "REQUIRED"), also when the
//   client names the attributes it wants (RFC 7644 §3.9). scimmy drops it then, and without it
//   fails on its own extension handling ("Cannot read properties of undefined").
// - canonical values are checked only where the schema lists some. RFC 7643 §7 makes them
//   "suggested canonical values that MAY be used"; RFC 7643 §8.7.1 declares `roles.type`,
//   `entitlements.type` and `x509Certificates.type` with an empty list (no canonical values), which
//   scimmy reads as "no value is allowed".
import SCIMMY from 'scimmy';

type Definition = InstanceType<typeof SCIMMY.Types.SchemaDefinition>;
type Attribute = InstanceType<typeof SCIMMY.Types.Attribute>;
type AttributeConfig = { returned?: unknown; canonicalValues?: unknown };

const configOf = (attribute: unknown) => (attribute as { config: AttributeConfig }).config;

function relaxEmptyCanonicalValues(attributes: readonly Attribute[]): void {
  for (const attribute of attributes) {
    const config = configOf(attribute);
    if (Array.isArray(config.canonicalValues) && config.canonicalValues.length === 0) config.canonicalValues = false;
    relaxEmptyCanonicalValues(((attribute as { subAttributes?: Attribute[] }).subAttributes ?? []));
  }
}

/** Applies the corrections to the schemas of the resources we serve; idempotent. */
export function applySchemaRules(definitions: readonly Definition[]): void {
  for (const definition of definitions) {
    configOf(definition.attribute('schemas')).returned = 'always';
    relaxEmptyCanonicalValues(definition.attributes.filter((a): a is Attribute => a instanceof SCIMMY.Types.Attribute));
  }
}
