"""The ``global_defs { ... }`` block and the root-level keywords of keepalived 2.2.7.

`GlobalDefs` holds every setting with keepalived's default. Machine-dependent defaults
(``router_id`` = host name, ``notification_email_from`` = ``<user>@<host>``) are ``None`` here and
resolved at run time by `resolve_router_id` / `resolve_email_from`, so the model stays
deterministic.

Field names of the VRRP defaults are the keyword names (the VRRP parser reads them from the
live fields dict, ``ctx.fields_of("global")``, when a ``vrrp_instance`` is allocated); units:
``vrrp_garp_master_delay``/``vrrp_garp_lower_prio_delay``/``vrrp_garp_master_refresh``/
``vrrp_garp_extra_if`` in whole seconds, ``vrrp_garp_interval``/``vrrp_gna_interval``/
``vrrp_startup_delay`` in seconds (float, microsecond resolution). ``None`` for
``vrrp_garp_lower_prio_*`` means "same as the master value"; ``None`` for
``vrrp_lower_prio_no_advert``/``vrrp_higher_prio_send_advert`` means "not set" (false, but
``vrrp_strict`` makes lower_prio_no_advert true).
"""

from __future__ import annotations

import ipaddress
import os
import pwd
import socket
from dataclasses import dataclass, field

from pykeepalived.config.errors import Location
from pykeepalived.config.model.common import Script

DEFAULT_SMTP_PORT = 25
DEFAULT_UMASK = 0o177
"""IXUSR | IRWXG | IRWXO: keepalived's own umask when none is configured."""
DEFAULT_RLIMIT_RTTIME_US = 10000
DEFAULT_NFTABLES_TABLE = "keepalived"
DEFAULT_NFTABLES_IPVS_TABLE = "keepalived_ipvs"
DEFAULT_IPVS_START_FWMARK = 1000
VRRP_MCAST_GROUP4 = ipaddress.IPv4Address("224.0.0.18")
VRRP_MCAST_GROUP6 = ipaddress.IPv6Address("ff02::12")


@dataclass(frozen=True, slots=True)
class SmtpServer:
    """``smtp_server HOST [PORT]``: an address literal or a host name."""

    host: str
    port: int = DEFAULT_SMTP_PORT


@dataclass(frozen=True, slots=True)
class NotifyFifo:
    """``[vrrp_|lvs_]notify_fifo PATH [USER [GROUP]]`` and its ``..._script``."""

    path: str | None = None
    user: str | None = None
    group: str | None = None
    script: Script | None = None


@dataclass(frozen=True, slots=True)
class LvsSyncDaemon:
    """``lvs_sync_daemon IF [[inst] VI] [id N] [maxlen N] [port N] [ttl N] [group ADDR]``.

    ``None`` values take keepalived's defaults at run time (id = the instance's VRID, port
    8848, group 224.0.0.81).
    """

    interface: str
    vrrp_instance: str | None = None
    syncid: int | None = None
    maxlen: int | None = None
    port: int | None = None
    ttl: int | None = None
    group: ipaddress.IPv4Address | ipaddress.IPv6Address | None = None


@dataclass(frozen=True, slots=True)
class LvsTimeouts:
    """``lvs_timeouts [tcp S] [tcpfin S] [udp S]`` (``None`` = leave the kernel's value)."""

    tcp_s: int | None = None
    tcpfin_s: int | None = None
    udp_s: int | None = None


@dataclass(frozen=True)
class GlobalDefs:
    """Everything ``global_defs`` and the root-level global keywords configure."""

    # root level
    net_namespace: str | None = None
    net_namespace_ipvs: str | None = None  # "" = the default namespace
    namespace_with_ipsets: bool = False
    instance: str | None = None
    use_pid_dir: bool = False
    linkbeat_use_polling: bool = False
    child_wait_time_s: int = 5

    # process / daemon
    tmp_config_directory: str | None = None
    config_save_dir: str | None = None
    process_name: str | None = None
    vrrp_process_name: str | None = None
    checker_process_name: str | None = None
    bfd_process_name: str | None = None
    startup_script: Script | None = None
    startup_script_timeout_s: int = 10
    shutdown_script: Script | None = None
    shutdown_script_timeout_s: int = 10
    umask: int = DEFAULT_UMASK
    random_seed: int | None = None
    max_auto_priority: int = 0
    min_auto_priority_delay_us: int = 1_000_000
    vrrp_process_priority: int = 0
    checker_process_priority: int = 0
    bfd_process_priority: int = 0
    vrrp_no_swap: bool = False
    checker_no_swap: bool = False
    bfd_no_swap: bool = False
    vrrp_realtime_priority: int = 0
    checker_realtime_priority: int = 0
    bfd_realtime_priority: int = 0
    vrrp_cpu_affinity: tuple[int, ...] = ()
    checker_cpu_affinity: tuple[int, ...] = ()
    bfd_cpu_affinity: tuple[int, ...] = ()
    vrrp_rlimit_rttime_us: int = DEFAULT_RLIMIT_RTTIME_US
    checker_rlimit_rttime_us: int = DEFAULT_RLIMIT_RTTIME_US
    bfd_rlimit_rttime_us: int = DEFAULT_RLIMIT_RTTIME_US
    reload_check_config: str | None = None  # log file; "/dev/null" when given alone
    reload_time_file: str | None = None
    reload_repeat: bool = False
    reload_file: str | None = None  # "" = keepalived's default path
    include_check: tuple[str, ...] | None = None  # the words as given; () = all checks
    data_use_instance: bool = False
    dynamic_interfaces: bool = False
    dynamic_interfaces_allow_if_changes: bool = False
    default_interface: str = "eth0"

    # identification and e-mail
    router_id: str | None = None
    notification_email: tuple[str, ...] = ()
    notification_email_from: str | None = None
    smtp_server: SmtpServer | None = None
    smtp_helo_name: str | None = None
    smtp_connect_timeout_s: int = 30
    smtp_alert: bool | None = None
    smtp_alert_vrrp: bool | None = None
    smtp_alert_checker: bool | None = None
    no_email_faults: bool = False
    no_checker_emails: bool = False
    checker_log_all_failures: bool = False

    # VRRP defaults (keyword names, see the module docstring)
    vrrp_mcast_group4: ipaddress.IPv4Address = VRRP_MCAST_GROUP4
    vrrp_mcast_group6: ipaddress.IPv6Address = VRRP_MCAST_GROUP6
    vrrp_version: int = 2
    vrrp_garp_master_delay: int = 5
    vrrp_garp_master_repeat: int = 5
    vrrp_garp_master_refresh: int = 0
    vrrp_garp_master_refresh_repeat: int = 1
    vrrp_garp_lower_prio_delay: int | None = None
    vrrp_garp_lower_prio_repeat: int | None = None
    vrrp_garp_interval: float = 0.0
    vrrp_gna_interval: float = 0.0
    vrrp_garp_extra_if: int = 0
    vrrp_garp_extra_if_all: bool = False
    vrrp_down_timer_adverts: int = 3
    vrrp_lower_prio_no_advert: bool | None = None
    vrrp_higher_prio_send_advert: bool | None = None
    vrrp_strict: bool = False
    vrrp_check_unicast_src: bool = False
    vrrp_skip_check_adv_addr: bool = False
    vrrp_notify_priority_changes: bool = False
    vrrp_startup_delay: float = 0.0
    log_unknown_vrids: bool = False
    vmac_prefix: str | None = None
    vmac_addr_prefix: str | None = None
    vrrp_rx_bufs_policy: str | None = None  # "MTU" or "ADVERT"
    vrrp_rx_bufs_size: int | None = None
    vrrp_rx_bufs_multiplier: int = 3
    vrrp_netlink_cmd_rcv_bufs: int = 0
    vrrp_netlink_cmd_rcv_bufs_force: bool = False
    vrrp_netlink_monitor_rcv_bufs: int = 0
    vrrp_netlink_monitor_rcv_bufs_force: bool = False
    lvs_netlink_cmd_rcv_bufs: int = 0
    lvs_netlink_cmd_rcv_bufs_force: bool = False
    lvs_netlink_monitor_rcv_bufs: int = 0
    lvs_netlink_monitor_rcv_bufs_force: bool = False
    process_monitor_rcv_bufs: int = 0
    process_monitor_rcv_bufs_force: bool = False
    disable_local_igmp: bool = False
    fifo_write_vrrp_states_on_reload: bool = False

    # firewall
    nftables: str | None = None  # table name; set means "use nftables"
    nftables_priority: int = -1
    nftables_counters: bool = False
    nftables_ifindex: bool = False
    nftables_ipvs: str | None = None
    nftables_ipvs_priority: int = -1
    nftables_ipvs_start_fwmark: int = DEFAULT_IPVS_START_FWMARK

    # LVS
    lvs_sync_daemon: LvsSyncDaemon | None = None
    lvs_timeouts: LvsTimeouts = LvsTimeouts()
    lvs_flush: bool = False
    lvs_flush_on_stop: str | None = None  # "full" or "VS"
    rs_init_notifies: bool = False

    # scripts and notifications
    script_user: str | None = None
    script_group: str | None = None
    enable_script_security: bool = False
    notify_fifo: NotifyFifo = NotifyFifo()
    vrrp_notify_fifo: NotifyFifo = NotifyFifo()
    lvs_notify_fifo: NotifyFifo = NotifyFifo()

    # SNMP / DBus
    snmp_socket: str | None = None
    enable_snmp_vrrp: bool = False
    enable_snmp_checker: bool = False
    enable_snmp_rfcv2: bool = False
    enable_snmp_rfcv3: bool = False
    enable_traps: bool = False
    enable_dbus: bool = False
    dbus_service_name: str | None = None

    location: Location | None = field(default=None, compare=False, repr=False)

    @property
    def garp_lower_prio_delay_s(self) -> int:
        """The effective ``vrrp_garp_lower_prio_delay`` (falls back to the master delay)."""
        if self.vrrp_garp_lower_prio_delay is None:
            return self.vrrp_garp_master_delay
        return self.vrrp_garp_lower_prio_delay

    @property
    def garp_lower_prio_repeat(self) -> int:
        if self.vrrp_garp_lower_prio_repeat is None:
            return self.vrrp_garp_master_repeat
        return self.vrrp_garp_lower_prio_repeat


def resolve_router_id(defs: GlobalDefs, hostname: str | None = None) -> str:
    """``router_id``, or the local host name as keepalived uses by default."""
    if defs.router_id is not None:
        return defs.router_id
    return hostname if hostname is not None else socket.gethostname()


def resolve_email_from(
    defs: GlobalDefs, user: str | None = None, hostname: str | None = None
) -> str:
    """``notification_email_from``, or ``<user running keepalived>@<host name>``."""
    if defs.notification_email_from is not None:
        return defs.notification_email_from
    if user is None:
        try:
            user = pwd.getpwuid(os.getuid()).pw_name
        except KeyError:
            user = str(os.getuid())
    host = hostname if hostname is not None else socket.gethostname()
    return f"{user}@{host}"
