/**
 * Colour families the generated test models recognise. A pixel belongs to a family when each
 * channel is on the family's side of 0.5 (after /255): red = R>0.5, G<0.5, B<0.5, and so on.
 * So (255, 0, 0) and (230, 90, 40) are both "red"; grey padding (114) belongs to none.
 */
export type ColourFamily = "red" | "green" | "blue" | "yellow" | "cyan" | "magenta";

/** Which channels are high (true) or low (false) for each family, in RGB order. */
export const FAMILY_CHANNELS: Record<ColourFamily, [boolean, boolean, boolean]> = {
  red: [true, false, false],
  green: [false, true, false],
  blue: [false, false, true],
  yellow: [true, true, false],
  cyan: [false, true, true],
  magenta: [true, false, true],
};

export type Rgb = [number, number, number];

/** The saturated colour of a family, e.g. red → [255, 0, 0]. */
export function familyColour(f: ColourFamily): Rgb {
  return FAMILY_CHANNELS[f].map((hi) => (hi ? 255 : 0)) as Rgb;
}
