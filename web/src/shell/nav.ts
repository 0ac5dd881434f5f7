// The console's navigation, one table for every role: AppShell's drawer shows the rows whose
// `roles` include the signed-in user's. A new page is one row here plus its route in App.tsx.
import type { SvgIconProps } from "@mui/material/SvgIcon";
import type { ComponentType } from "react";
import DashboardOutlined from "@mui/icons-material/DashboardOutlined";
import HelpOutline from "@mui/icons-material/HelpOutlineOutlined";
import DnsOutlined from "@mui/icons-material/DnsOutlined";
import FactoryOutlined from "@mui/icons-material/FactoryOutlined";
import PeopleOutlined from "@mui/icons-material/PeopleOutlined";
import BusinessOutlined from "@mui/icons-material/BusinessOutlined";
import VpnKeyOutlined from "@mui/icons-material/VpnKeyOutlined";
import FactCheckOutlined from "@mui/icons-material/FactCheckOutlined";
import SettingsOutlined from "@mui/icons-material/SettingsOutlined";
import NotificationsOutlined from "@mui/icons-material/NotificationsOutlined";
import PaidOutlined from "@mui/icons-material/PaidOutlined";
import ReceiptLongOutlined from "@mui/icons-material/ReceiptLongOutlined";
import WorkOutlineOutlined from "@mui/icons-material/WorkOutlineOutlined";
import { ADMIN, CUSTOMER, EVERYONE, STAFF } from "../auth/roles";
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

export { ADMIN, CUSTOMER, EVERYONE, STAFF };

export const NAV: readonly NavItem[] = [
  { key: "dashboard", label: "Dashboard", to: "/app", icon: DashboardOutlined, roles: EVERYONE, section: "main", end: true },
  { key: "workloads", label: "Workloads", to: "/app/workloads", icon: WorkOutlineOutlined, roles: STAFF, section: "main" },
  { key: "resources", label: "Resources", to: "/app/resources", icon: DnsOutlined, roles: STAFF, section: "main" },
  { key: "facilities", label: "Facilities", to: "/app/facilities", icon: FactoryOutlined, roles: STAFF, section: "main" },
  { key: "alerts", label: "Alerts", to: "/app/alerts", icon: NotificationsOutlined, roles: STAFF, section: "main" },
  { key: "economics", label: "Economics", to: "/app/economics", icon: PaidOutlined, roles: STAFF, section: "main" },
  { key: "billing", label: "Billing", to: "/app/billing", icon: ReceiptLongOutlined, roles: ADMIN, section: "admin" },
  { key: "admin-users", label: "Users", to: "/app/admin/users", icon: PeopleOutlined, roles: ADMIN, section: "admin" },
  { key: "admin-customers", label: "Customers", to: "/app/admin/customers", icon: BusinessOutlined, roles: ADMIN, section: "admin" },
  { key: "admin-api-keys", label: "API keys", to: "/app/admin/api-keys", icon: VpnKeyOutlined, roles: ADMIN, section: "admin" },
  { key: "admin-audit", label: "Audit log", to: "/app/admin/audit", icon: FactCheckOutlined, roles: ADMIN, section: "admin" },
  { key: "settings", label: "Settings", to: "/app/settings", icon: SettingsOutlined, roles: EVERYONE, section: "support" },
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
