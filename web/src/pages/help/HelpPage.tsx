// Help & Support: how to use the console, where the API is documented, the demo logins, and for
// staff the operator docs: Grafana dashboards and runbooks (summarised from docs/OPERATIONS.md).
// Static text and links; the demo logins only where /health says the platform runs in demo mode.
import Box from "@mui/material/Box";
import Chip from "@mui/material/Chip";
import Link from "@mui/material/Link";
import List from "@mui/material/List";
import ListItem from "@mui/material/ListItem";
import ListItemText from "@mui/material/ListItemText";
import Paper from "@mui/material/Paper";
import Stack from "@mui/material/Stack";
import Table from "@mui/material/Table";
import TableBody from "@mui/material/TableBody";
import TableCell from "@mui/material/TableCell";
import TableHead from "@mui/material/TableHead";
import TableRow from "@mui/material/TableRow";
import Typography from "@mui/material/Typography";
import type { ReactNode } from "react";
import { useQuery } from "@tanstack/react-query";
import { api, unwrap } from "../../api/client";
import { useAuth } from "../../auth/AuthProvider";
import { ROLE_LABELS } from "../../shell/nav";
import { usePageTitle } from "../../shell/usePageTitle";

function Section({ id, title, children }: { id: string; title: string; children: ReactNode }) {
  return (
    <Paper component="section" variant="outlined" aria-labelledby={id} sx={{ p: { xs: 2, md: 3 } }}>
      <Typography id={id} variant="h6" component="h2" sx={{ mb: 1.5 }}>
        {title}
      </Typography>
      {children}
    </Paper>
  );
}

// The users `hcp up --demo` seeds (src/hcp/demo.py): they exist in demo mode only.
const DEMO_LOGINS: [string, string, string][] = [
  ["Admin", "admin@mara.com", "admin123"],
  ["Operator", "ops@mara.com", "operator123"],
  ["Customer (Acme Corp)", "john@acme.com", "customer123"],
  ["Customer (Globex Research)", "maria@globex.com", "customer123"],
  ["Customer (Initech AI)", "raj@initech.com", "customer123"],
];

// The dashboards deploy/grafana/provisioning ships, by their stable uids.
const DASHBOARDS: [string, string, string][] = [
  ["HCP / Fleet overview", "hcp-fleet-overview", "hashrate, power by mode and facility, GPUs, alerts, WebSocket clients"],
  ["HCP / Economics", "hcp-economics", "plan profit, BTC price, hashprice, electricity by node"],
  ["HCP / Workloads", "hcp-workloads", "queue depth, placements, switch latency percentiles, API rate and latency"],
];

// What to do when ..., as docs/OPERATIONS.md's runbooks say (and what HCP has already done).
const RUNBOOKS: { id: string; title: string; steps: string[] }[] = [
  {
    id: "runbook-overheat",
    title: "A miner overheats",
    steps: [
      "From 85 °C chip temperature the unit is rated warning, from 95 °C critical, and a temperature alert opens; a critical unit is left out of the next plan.",
      "Check its fans (a fan failure alert often comes first) and the hall's intake temperature.",
      "To stop it now, Curtail it on its Resources page; to keep the planner off it during repair, put it in maintenance.",
    ],
  },
  {
    id: "runbook-cap",
    title: "A facility goes over its power cap",
    steps: [
      "The planner never plans above a cap: it curtails the miners that earn least per watt (the least efficient model) first, then idles GPUs without committed work.",
      "Power above the cap means the plan is not carried out yet: compare used and headroom kW on the Resources page, and curtail by hand if it cannot wait.",
    ],
  },
  {
    id: "runbook-demand-response",
    title: "A demand-response event",
    steps: [
      "Enter the window before it starts (POST /api/v1/economics/demand-response with the facility, the cap in kW, start, end and reason).",
      "While it is open the planner uses the lower cap and curtails the least efficient miners first; they mine again at the first plan after it ends.",
    ],
  },
  {
    id: "runbook-database",
    title: "The database is down",
    steps: [
      "/ready answers 503 naming the database, so load balancers stop sending traffic; /health names the components whose last run failed.",
      "Bring PostgreSQL back (check disk space and pg_isready): the background loops run again on their next period, nothing needs restarting.",
    ],
  },
  {
    id: "runbook-gpu",
    title: "A GPU falls off the bus",
    steps: [
      "It answers nothing (XID 79): after missed polls it is offline and a critical alert opens.",
      "A workload running on it fails (“unit lost”) and its GPUs are released; the customer resubmits it.",
      "The GPU needs a reset or a reboot of its host: keep it in maintenance until then.",
    ],
  },
  {
    id: "runbook-offline",
    title: "A miner stops answering",
    steps: [
      "After missed polls it is offline with a critical alert, and comes back by itself when it answers again.",
      "Check its network and power; a rescan finds a replaced unit by its MAC.",
    ],
  },
];

const LIVE_STATES: [string, string][] = [
  ["Live", "connected: figures and tables update as events arrive."],
  ["Connecting… / Reconnecting…", "the console is (re)opening its connection and will catch up on what it missed."],
  ["Offline", "no connection; what you see may be stale. Reload the page if it stays so."],
];

export default function HelpPage() {
  usePageTitle("Help & Support");
  const { user, isStaff: staff } = useAuth();
  const health = useQuery({
    queryKey: ["health"],
    queryFn: async () => unwrap(await api.GET("/health")),
    staleTime: Infinity,
  });
  const demo = health.data?.demo === true;
  return (
    <Box sx={{ maxWidth: 960 }}>
      <Typography variant="h4" component="h1" sx={{ mb: 1 }}>
        Help &amp; Support
      </Typography>
      <Typography sx={{ color: "text.secondary", mb: 3 }}>
        {user ? `You are signed in as ${user.email} (${ROLE_LABELS[user.role]}). ` : ""}
        How to find your way around the HCP console, and where to go next.
      </Typography>
      <Stack spacing={3}>
        <Section id="help-using" title="Using the console">
          <List dense disablePadding>
            <ListItem disableGutters>
              <ListItemText
                primary="Navigation"
                secondary="The menu on the left (the menu button on small screens) lists the pages your role can open. Dashboard shows the headline figures."
              />
            </ListItem>
            <ListItem disableGutters>
              <ListItemText
                primary="Account"
                secondary="The Account button in the top bar shows who is signed in and signs you out. Sessions renew themselves while the console is open."
              />
            </ListItem>
            <ListItem disableGutters>
              <ListItemText
                primary="Light and dark"
                secondary="The sun/moon button switches the theme; the choice is remembered in this browser. Until you choose, the console follows your system's setting."
              />
            </ListItem>
            <ListItem disableGutters>
              <ListItemText
                primary="Keyboard"
                secondary="Tab moves between controls, Enter or Space activates them and Escape closes menus. The first Tab on a page offers “Skip to content”."
              />
            </ListItem>
          </List>
        </Section>

        <Section id="help-live" title="Live updates">
          <Typography variant="body2" sx={{ mb: 1.5 }}>
            The chip in the top bar tells you whether the console is receiving live events:
          </Typography>
          <Stack spacing={1}>
            {LIVE_STATES.map(([state, text]) => (
              <Stack key={state} direction="row" spacing={1.5} sx={{ alignItems: "baseline" }}>
                <Chip label={state} size="small" variant="outlined" />
                <Typography variant="body2">{text}</Typography>
              </Stack>
            ))}
          </Stack>
        </Section>

        <Section id="help-roles" title="Roles">
          <Typography variant="body2" component="div">
            <ul style={{ margin: 0, paddingLeft: "1.25rem" }}>
              <li>
                <strong>Operators</strong> run the fleet: power, mining/AI switching, workloads and alerts.
              </li>
              <li>
                <strong>Admins</strong> do everything operators do, and manage users, tenants and billing.
              </li>
              <li>
                <strong>Customers</strong> see their own tenant only: their AI workloads, usage, spend and budget.
              </li>
            </ul>
          </Typography>
        </Section>

        <Section id="help-api" title="The API">
          <Typography variant="body2" sx={{ mb: 1 }}>
            Everything the console does goes through HCP's public API, which you can use directly with an
            API key or a bearer token.
          </Typography>
          <Stack direction={{ xs: "column", sm: "row" }} spacing={{ xs: 1, sm: 3 }}>
            <Link href="/docs">Interactive API documentation</Link>
            <Link href="/redoc">API reference (ReDoc)</Link>
            <Link href="/openapi.json">OpenAPI document (JSON)</Link>
            <Link href="/health">Service health</Link>
          </Stack>
        </Section>

        {staff && (
          <Section id="help-dashboards" title="Grafana dashboards">
            <Typography variant="body2" sx={{ mb: 1.5 }}>
              Grafana provisioned from <code>deploy/grafana/provisioning</code> (datasource “HCP Prometheus”,
              folder “HCP”) has these dashboards, at <code>/d/&lt;uid&gt;</code> on your Grafana. Prometheus scrapes
              every service’s <code>/metrics</code> (<code>deploy/prometheus/prometheus.yml</code>).
            </Typography>
            <Table size="small" aria-labelledby="help-dashboards">
              <TableHead>
                <TableRow>
                  <TableCell component="th" scope="col">Dashboard</TableCell>
                  <TableCell component="th" scope="col">uid</TableCell>
                  <TableCell component="th" scope="col">Shows</TableCell>
                </TableRow>
              </TableHead>
              <TableBody>
                {DASHBOARDS.map(([title, uid, shows]) => (
                  <TableRow key={uid}>
                    <TableCell>{title}</TableCell>
                    <TableCell>
                      <code>{uid}</code>
                    </TableCell>
                    <TableCell>{shows}</TableCell>
                  </TableRow>
                ))}
              </TableBody>
            </Table>
          </Section>
        )}

        {staff && (
          <Section id="help-runbooks" title="Runbooks">
            <Typography variant="body2" sx={{ mb: 1.5 }}>
              What to do when something goes wrong, and what HCP has already done by itself. The full
              runbooks are in <code>docs/OPERATIONS.md</code>.
            </Typography>
            <Stack spacing={2}>
              {RUNBOOKS.map((r) => (
                <Box key={r.id} component="section" aria-labelledby={r.id}>
                  <Typography id={r.id} variant="subtitle1" component="h3">
                    {r.title}
                  </Typography>
                  <Typography variant="body2" component="div">
                    <ul style={{ margin: 0, paddingLeft: "1.25rem" }}>
                      {r.steps.map((step) => (
                        <li key={step}>{step}</li>
                      ))}
                    </ul>
                  </Typography>
                </Box>
              ))}
            </Stack>
          </Section>
        )}

        {demo && (
        <Section id="help-demo" title="Demo mode">
          <Typography variant="body2" sx={{ mb: 1.5 }}>
            A platform started with <code>hcp up --demo</code> (or <code>make up</code>) has these users. They
            exist only in demo mode and cannot sign in anywhere else.
          </Typography>
          <Table size="small" aria-labelledby="help-demo">
            <TableHead>
              <TableRow>
                <TableCell component="th" scope="col">Role</TableCell>
                <TableCell component="th" scope="col">Email</TableCell>
                <TableCell component="th" scope="col">Password</TableCell>
              </TableRow>
            </TableHead>
            <TableBody>
              {DEMO_LOGINS.map(([role, email, password]) => (
                <TableRow key={email}>
                  <TableCell>{role}</TableCell>
                  <TableCell>{email}</TableCell>
                  <TableCell>
                    <code>{password}</code>
                  </TableCell>
                </TableRow>
              ))}
            </TableBody>
          </Table>
        </Section>
        )}

        <Section id="help-support" title="Getting support">
          <Typography variant="body2">
            For access, roles or a forgotten password, ask your organisation's HCP administrator. For a
            problem with a workload, note its id (shown on the workload) and include it in your request.
          </Typography>
        </Section>
      </Stack>
    </Box>
  );
}
