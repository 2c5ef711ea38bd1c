package NgxMcp::Deploy;

# What the deployment suites (t/deploy/*.t) share: the recipes' YAML read
# as data, and the environment that moves a rendered nginx.conf's paths
# (module, pid, logs, store, temporary files) under a test directory.

use strict;
use warnings;

use JSON::PP;

use Exporter qw(import);
our @EXPORT_OK = qw(yaml paths);


# every YAML document of a file, as Perl data (Debian's python3-yaml)
sub yaml {
    my ($file) = @_;

    my $json = `/usr/bin/python3 -c 'import sys, yaml, json
print(json.dumps(list(yaml.safe_load_all(open(sys.argv[1])))))' $file`;
    die "$file: not YAML\n" if $?;

    return @{ decode_json($json) };
}


# the entrypoint's variables for a node under $dir, loading $module
sub paths {
    my ($dir, $module) = @_;

    return (NGINX_CONF => "$dir/conf/nginx.conf",
            MCP_MODULE => $module,
            MCP_PID => "$dir/logs/nginx.pid",
            MCP_ERROR_LOG => "$dir/logs/error.log",
            MCP_ACCESS_LOG => 'off',
            MCP_TEMP_DIR => "$dir/tmp",
            MCP_STORE_DIR => "$dir/data",
            MCP_USER => $> == 0 ? 'root' : scalar getpwuid($>));
}


1;
