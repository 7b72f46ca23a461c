/**
 * The reset time the real CLI writes into its result when a plan's usage limit refuses a
 * request: "You've hit your 5-hour limit · resets 5:31am (UTC)", "… · resets Nov 25, 2:31am
 * (UTC)", "… · resets 11:31pm (America/New_York)" (observed with 2.1.330), or "resets 4pm".
 * The time is a wall-clock time in the named zone (the machine's own when none is named); without
 * a date it is the next such time after `now`.
 */
const RESETS = /\bresets\s+(?:([A-Z][a-z]{2})\w*\s+(\d{1,2}),?\s+(?:at\s+)?)?(\d{1,2})(?::(\d{2}))?\s*(am|pm)\b(?:\s*\(([^)]+)\))?/i;
const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];

/** The parts of an instant's wall-clock time in a time zone. */
function wallClock(
  instant: number,
  timeZone: string | undefined,
): { year: number; month: number; day: number; hour: number; minute: number } {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
  }).formatToParts(new Date(instant));
  const part = (type: string): number => Number(parts.find((candidate) => candidate.type === type)?.value ?? NaN);
  return { year: part('year'), month: part('month') - 1, day: part('day'), hour: part('hour'), minute: part('minute') };
}

/** The instant at which the wall clock in `timeZone` shows the given date and time. */
function instantOf(year: number, month: number, day: number, hour: number, minute: number, timeZone: string | undefined): number {
  const wanted = Date.UTC(year, month, day, hour, minute);
  let guess = wanted;
  // Two corrections settle the zone's offset (also across a daylight-saving change).
  for (let round = 0; round < 2; round++) {
    const shown = wallClock(guess, timeZone);
    guess += wanted - Date.UTC(shown.year, shown.month, shown.day, shown.hour, shown.minute);
  }
  return guess;
}

function validZone(zone: string | undefined): string | undefined {
  if (!zone) return undefined;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return zone;
  } catch {
    return undefined;
  }
}

/** The reset time in a usage-limit message, ms since epoch; undefined when the text has none. */
export function parseResetTime(text: string, now: number): number | undefined {
  // Older CLIs: "Claude AI usage limit reached|1746000000" (epoch seconds).
  const epoch = /usage limit reached\|(\d{9,11})\b/i.exec(text)?.[1];
  if (epoch) return Number(epoch) * 1000;
  const match = RESETS.exec(text);
  if (!match) return undefined;
  const [, monthName, dayText, hourText, minuteText, meridiem, zoneText] = match;
  const zone = validZone(zoneText?.trim());
  if (zoneText && !zone) return undefined;
  let hour = Number(hourText) % 12;
  if (meridiem!.toLowerCase() === 'pm') hour += 12;
  const minute = minuteText ? Number(minuteText) : 0;
  if (hour > 23 || minute > 59) return undefined;
  const today = wallClock(now, zone);
  if (monthName !== undefined) {
    const month = MONTHS.indexOf(monthName.toLowerCase());
    if (month < 0) return undefined;
    const day = Number(dayText);
    let instant = instantOf(today.year, month, day, hour, minute, zone);
    // "Jan 2" read on Dec 30 is next year's.
    if (instant < now - 24 * 3600_000) instant = instantOf(today.year + 1, month, day, hour, minute, zone);
    return instant;
  }
  let instant = instantOf(today.year, today.month, today.day, hour, minute, zone);
  if (instant <= now) instant = instantOf(today.year, today.month, today.day + 1, hour, minute, zone);
  return instant;
}

/** Whether a result's text is a plan's usage-limit refusal ("You've hit your 5-hour limit · resets …"). */
export function isUsageLimitText(text: string): boolean {
  return /\byou['’]ve hit your\b.*\blimit\b/i.test(text) || /\busage limit reached\b/i.test(text);
}
