/* SPDX-License-Identifier: MIT */
/* Keeps the host library non-empty until its first real source lands; delete then. */
int vmp_host_placeholder;
