/* SPDX-License-Identifier: MIT */
/* Keeps the core library non-empty until its first real source lands; delete then. */
int vmp_core_placeholder;
