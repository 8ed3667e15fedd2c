/* SPDX-License-Identifier: MIT */
/*
 * The simulator behind the backend ops table: open a fixture trace as sim://DIR, list
 * its VMs, read stats, migrate one VM between simulated hosts and watch it complete as
 * virtual time advances.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/backend.h"
#include "backend/sim.h"
#include "util/util.h"

static void
test_sim_backend(void **state)
{
	const char *dir = getenv("VMP_TESTS_DIR");
	struct vmp_migrate_params mp = { 0 };
	struct vmp_migrate_progress prog;
	struct vmp_vm_info *vms = NULL;
	struct vmp_vm_stats st;
	struct vmp_host_info hi;
	struct vmp_backend *b = NULL;
	char *uri, *err = NULL, dest[32];
	int n, i, r = -1, same = 0;

	assert_non_null(dir);
	uri = xasprintf("sim://%s/data/traces/planetlab-mini?hosts=4", dir);
	assert_int_equal(vmp_backend_open(uri, 0, &b, &err), 0);
	assert_string_equal(vmp_backend_name(b), "sim");
	assert_int_equal(vmp_backend_host_info(b, &hi), 0);
	assert_int_equal(hi.cpus, 8);
	n = vmp_backend_list_vms(b, &vms);
	assert_int_equal(n, 3);
	assert_string_equal(vms[0].name, "a host with spaces");
	assert_int_equal(vms[0].state, VMP_VM_RUNNING);
	free(vms);

	/* step 1 (t = 300.1 s): the VM "b_host" runs at 20 % then 30 % */
	assert_int_equal(vmp_backend_sim_advance(b), 1);
	assert_true(vmp_backend_sim_time_s(b) > 300 && vmp_backend_sim_time_s(b) < 301);
	assert_int_equal(vmp_backend_vm_stats(b, "b_host", &st), 0);
	assert_true(st.valid & VMP_STAT_CPU_TIME);

	/* migrate "b_host" to another host: its own host refuses with -EINVAL */
	for (i = 0; i < 4; i++) {
		snprintf(dest, sizeof(dest), "host-%d", i);
		mp.dest_name = dest;
		r = vmp_backend_migrate_start(b, "b_host", &mp);
		if (r == 0)
			break;
		assert_int_equal(r, -EINVAL);
		assert_non_null(strstr(vmp_backend_error(b), "Invalid argument"));
		same++;
	}
	assert_int_equal(r, 0);
	assert_true(same <= 1);      /* at most its own host refused */
	assert_int_equal(vmp_backend_migrate_poll(b, "b_host", &prog), 0);
	assert_int_equal(prog.state, VMP_MIGRATE_ACTIVE);
	assert_int_equal(vmp_backend_migrate_start(b, "b_host", &mp), -EBUSY);
	assert_non_null(strstr(vmp_backend_error(b), "b_host"));
	mp.dest_name = "host-99";
	assert_int_equal(vmp_backend_migrate_start(b, "c_crlf", &mp), -EINVAL);
	assert_int_equal(vmp_backend_migrate_start(b, "nope", &mp), -ENOENT);
	assert_int_equal(vmp_backend_sim_advance(b), 1);
	assert_int_equal(vmp_backend_migrate_poll(b, "b_host", &prog), 0);
	assert_int_equal(prog.state, VMP_MIGRATE_COMPLETED);
	assert_int_equal(vmp_backend_vm_stats(b, "b_host", &st), 0);
	assert_true(st.cpu_time_ns > 0);
	/* the 4-sample trace has steps at 300.1, 600.1 and 900.1 s only */
	assert_int_equal(vmp_backend_sim_advance(b), 1);
	assert_int_equal(vmp_backend_sim_advance(b), 0);
	vmp_backend_close(b);
	free(uri);

	/* bad URIs say what is wrong */
	uri = xasprintf("sim://%s/data/traces/planetlab-mini?hosts=zero", dir);
	assert_int_equal(vmp_backend_open(uri, 0, &b, &err), -EINVAL);
	assert_non_null(strstr(err, "invalid host count"));
	free(err);
	free(uri);
	assert_int_equal(vmp_backend_open("sim:///nonexistent", 0, &b, &err), -ENOENT);
	assert_non_null(strstr(err, "/nonexistent"));
	free(err);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sim_backend),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
