#!/bin/sh
# Firewall for a small office file server, as it was found: it runs, mostly, but each
# commented block below hides a mistake that fwlint reports.
set -u
IPT=/sbin/iptables

$IPT -F
$IPT -X
$IPT -P FORWARD DROP
# (no "-P INPUT DROP": INPUT keeps the kernel's default policy, ACCEPT)

$IPT -A INPUT -i lo -j ACCEPT
# the old "state" module instead of conntrack
$IPT -A INPUT -m state --state ESTABLISHED,RELATED -j ACCEPT

# Samba for the office LAN: /24 with a host address means the whole 192.168.1.0/24
$IPT -A INPUT -s 192.168.1.10/24 -p tcp -m multiport --dports 139,445 -j ACCEPT

# the admin UI range, written backwards
$IPT -A INPUT -p tcp --dport 8443:8080 -j ACCEPT

# DNS without -p: ports mean nothing without tcp or udp
$IPT -A INPUT -m multiport --dports 53 -j ACCEPT

# SSH goes to a chain called SSH-IN, but the jump says SSH_IN
$IPT -N SSH-IN
$IPT -A SSH-IN -s 192.168.1.0/24 -j ACCEPT
$IPT -A INPUT -p tcp --dport 22 -j SSH_IN

# HTTPS, pasted twice
$IPT -A INPUT -p tcp --dport 443 -j ACCEPT
$IPT -A INPUT -p tcp --dport 443 -j ACCEPT

# redirect the intranet site to the app server port -- but without "-t nat"
$IPT -A PREROUTING -p tcp --dport 80 -j REDIRECT --to-ports 8080

$IPT -A INPUT -j DROP
# VPN added at the end, after the catch-all DROP
$IPT -A INPUT -p udp --dport 1194 -j ACCEPT
