# SPDX-License-Identifier: GPL-2.0
# bash completion for embargoctl(8).
#
# The commands, their options and their arguments are read from `embargoctl --help` (its "Commands:"
# section, one synopsis per command, e.g. "inspect FILE... [--json] [--policy PATH]"), so a command added
# to embargoctl is completed without a change here. The table below is used only when the program
# cannot be run.

_embargoctl_fallback='status [--json]
mode audit|enforce
learned list|forget
inspect FILE... [--json] [--policy PATH]
policy check PATH...
doctor [--json]
scan [PATH...] [--json] [--jobs N] [--all] [--policy PATH] [--cache PATH | --no-cache] [--no-processes] [--dpkg-admindir DIR] [--ima-keyring FILE]...'

# One line per command: its synopsis without the description. A synopsis too long for one line goes on
# in the next, indented, starting with '['.
_embargoctl_synopses()
{
	local out
	out=$("$1" --help 2>/dev/null | awk '
		function flush() { if (s != "") print s; s = "" }
		/^Commands:/ { c = 1; next }
		c && /^[^ ]/ { flush(); c = 0 }
		c && /^  [a-z]/ { flush(); s = substr($0, 3); sub(/   +.*/, "", s); next }
		c && s != "" && /^   +\[/ { t = $0; sub(/^ +/, "", t); sub(/   +.*/, "", t); s = s " " t; next }
		c { flush() }
		END { flush() }')
	printf '%s\n' "${out:-$_embargoctl_fallback}"
}

# The argument name of option $2 in synopsis $1 ("PATH" for "[--policy PATH]" or "[--cache PATH |
# --no-cache]"), empty for a flag.
_embargoctl_optarg()
{
	local re="[[ |]$2 ([A-Z][A-Z.]*)([] |]|\$)"

	[[ $1 =~ $re ]] && printf '%s\n' "${BASH_REMATCH[1]}"
}

_embargoctl_files()
{
	if declare -F _filedir >/dev/null; then
		_filedir "$@"
	elif [[ $1 == -d ]]; then
		mapfile -t COMPREPLY < <(compgen -d -- "$cur")
	else
		mapfile -t COMPREPLY < <(compgen -f -- "$cur")
	fi
}

# Completes a value named like the synopsis names it.
_embargoctl_value()
{
	case $1 in
	*'|'*) mapfile -t COMPREPLY < <(compgen -W "${1//|/ }" -- "$cur") ;;
	[a-z]*) mapfile -t COMPREPLY < <(compgen -W "$1" -- "$cur") ;;
	DIR*) _embargoctl_files -d ;;
	FILE* | PATH*) _embargoctl_files ;;
	esac
}

_embargoctl()
{
	local cur prev words cword
	if declare -F _init_completion >/dev/null; then
		_init_completion || return
	else
		words=("${COMP_WORDS[@]}")
		cword=$COMP_CWORD
		cur=${COMP_WORDS[COMP_CWORD]}
		prev=${COMP_WORDS[COMP_CWORD - 1]}
	fi
	COMPREPLY=()

	local prog=${words[0]} i cmd='' at=0
	for ((i = 1; i < cword; i++)); do
		case ${words[i]} in
		--runtime-dir | --timeout) ((i++)) ;;
		-*) ;;
		*)
			cmd=${words[i]}
			at=$i
			break
			;;
		esac
	done

	# Before the command: the global options and the command names.
	if [[ -z $cmd ]]; then
		case $prev in
		--runtime-dir)
			_embargoctl_files -d
			return
			;;
		--timeout) return ;;
		esac
		if [[ $cur == -* ]]; then
			mapfile -t COMPREPLY < <(compgen -W '--runtime-dir --timeout --help --version' -- "$cur")
		else
			mapfile -t COMPREPLY < <(compgen -W "$(_embargoctl_synopses "$prog" | awk '{ print $1 }')" -- "$cur")
		fi
		return
	fi

	local syn
	syn=$(_embargoctl_synopses "$prog" | awk -v c="$cmd" '$1 == c { sub(/^[^ ]+ */, ""); print; exit }')

	# The value of an option.
	if [[ $prev == --* ]]; then
		local arg
		arg=$(_embargoctl_optarg "$syn" "$prev")
		if [[ -n $arg ]]; then
			_embargoctl_value "$arg"
			return
		fi
	fi
	if [[ $cur == -* ]]; then
		mapfile -t COMPREPLY < <(compgen -W "$(grep -o -- '--[a-z][a-z-]*' <<<"$syn") --help" -- "$cur")
		return
	fi

	# The n-th word that is neither an option nor an option's value; the last one of the synopsis
	# repeats when it ends in "...".
	local n=0
	for ((i = at + 1; i < cword; i++)); do
		if [[ ${words[i]} == --* ]]; then
			[[ -n $(_embargoctl_optarg "$syn" "${words[i]}") ]] && ((i++))
			continue
		fi
		[[ ${words[i]} == -* ]] || ((n++))
	done
	local -a pos
	read -ra pos <<<"$(sed -E -e 's/\[[^]]*--[^]]*\]//g' -e 's/[][]//g' <<<"$syn")"
	local want=${pos[n]:-}
	if [[ -z $want && ${#pos[@]} -gt 0 && ${pos[-1]} == *... ]]; then
		want=${pos[-1]}
	fi
	[[ -n $want ]] && _embargoctl_value "$want"
}

complete -F _embargoctl embargoctl
