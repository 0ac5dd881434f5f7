// The console's navigation, one table for every role: AppShell's drawer shows the rows whose
// `roles` include the signed-in user's. A new page is one row here plus its route in App.tsx.
import type { SvgIconProps } from "@mui/material/SvgIcon";
import type { ComponentType } from "react";
import DashboardOutlined from "@mui/icons-material/DashboardOutlined";
import HelpOutline from "@mui/icons-material/HelpOutlineOutlined";
import type { Role } from "../auth/session";

export type NavSection = "main" | "admin" | "support";

export interface NavItem {
  /** stable id (React key, tests) */
  key: string;
  label: string;
  /** absolute path under /app */
  to: string;
  icon: ComponentType<SvgIconProps>;
  roles: readonly Role[];
  section: NavSection;
  /** match `to` exactly (the dashboard at /app), not as a prefix */
  end?: boolean;
}

export const STAFF: readonly Role[] = ["admin", "operator"];
export const ADMIN: readonly Role[] = ["admin"];
export const CUSTOMER: readonly Role[] = ["customer"];
export const EVERYONE: readonly Role[] = ["admin", "operator", "customer"];

export const NAV: readonly NavItem[] = [
  { key: "dashboard", label: "Dashboard", to: "/app", icon: DashboardOutlined, roles: EVERYONE, section: "main", end: true },
  // Resources, Workloads, Billing, Alerts, Settings, Administration (ADMIN, section "admin") go here.
  { key: "help", label: "Help", to: "/app/help", icon: HelpOutline, roles: EVERYONE, section: "support" },
];

export const SECTION_ORDER: readonly NavSection[] = ["main", "admin", "support"];
export const SECTION_TITLES: Record<NavSection, string | null> = { main: null, admin: "Administration", support: null };

export function navFor(role: Role | null | undefined, items: readonly NavItem[] = NAV): NavItem[] {
  if (!role) return [];
  return items.filter((i) => i.roles.includes(role));
}

/** The items of `role` grouped by section, in SECTION_ORDER, empty sections left out. */
export function navSections(role: Role | null | undefined, items: readonly NavItem[] = NAV) {
  const mine = navFor(role, items);
  return SECTION_ORDER.map((section) => ({
    section,
    title: SECTION_TITLES[section],
    items: mine.filter((i) => i.section === section),
  })).filter((s) => s.items.length > 0);
}

export const ROLE_LABELS: Record<Role, string> = { admin: "Admin", operator: "Operator", customer: "Customer" };
