import re

import pytest
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from shared.errors import NotFound
from shared.http.params import MAX_ID, IdListField, object_id, query


class Filter(serializers.Serializer):
    ids = IdListField(max_ids=3)


def test_id_list_field_parses_comma_separated_ids():
    # when
    filters = Filter(data={"ids": "1,22,333"})
    # then
    assert filters.is_valid(), filters.errors
    assert filters.validated_data == {"ids": [1, 22, 333]}


def test_id_list_field_refuses_numbers_a_bigint_cannot_hold_as_its_pattern_does():
    # the documented pattern allows 19 digits beginning with 1-8 (all below MAX_ID), not more
    assert not Filter(data={"ids": f"1,{MAX_ID + 1}"}).is_valid()
    assert not Filter(data={"ids": "9000000000000000000"}).is_valid()
    filters = Filter(data={"ids": "8999999999999999999"})
    assert filters.is_valid() and filters.validated_data == {"ids": [8999999999999999999]}


@pytest.mark.parametrize(
    "raw",
    ["", "1,x", "1,2,3,4", "1,22,,333", "1,", " 1", "²", "-1", "\u0661", "9" * 5000, "9" * 20, "1,\x002"],
)
def test_id_list_field_rejects_what_its_pattern_does_not_match(raw):
    # the field and its documented pattern agree
    assert not Filter(data={"ids": raw}).is_valid()
    assert not re.search(Filter().fields["ids"].openapi_pattern, raw)


@pytest.mark.parametrize("raw", ["x", "²", "\u0661\u0662", "\uff11", str(MAX_ID + 1), "", "9" * 5000, "1\x00"])
def test_object_id_is_not_found_for_what_cannot_be_an_id(raw):
    with pytest.raises(NotFound):
        object_id(raw)


def test_query_takes_each_parameter_once_and_names_those_given_twice():
    # given: a query string with `page` twice
    request = Request(APIRequestFactory().get("/items/?page=1&page=2&search=&category=3"))
    # when / then: a 400 that names the repeated parameter, not one of its values picked silently
    with pytest.raises(serializers.ValidationError) as refused:
        query(request)
    assert refused.value.detail == {"page": ["Give this parameter once."]}
    # and: each parameter once is its one value, "" kept as given
    assert query(Request(APIRequestFactory().get("/items/?page=1&search="))) == {"page": "1", "search": ""}
